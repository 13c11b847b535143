# Included from bench/CMakeLists.txt: the bus benchmark (bus_rate.sh runs it on a private broker).
add_executable(bus_rate ${CMAKE_CURRENT_LIST_DIR}/bus_rate.c)
target_link_libraries(bus_rate PRIVATE nube_common Threads::Threads)
