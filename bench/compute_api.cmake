# Included from bench/CMakeLists.txt: the compute API benchmark
# (compute_api_bench.sh sets up the cloud and runs it).
if(CURL_FOUND)
    add_executable(compute_api_bench ${CMAKE_CURRENT_LIST_DIR}/compute_api_bench.c)
    target_link_libraries(compute_api_bench PRIVATE nube_common PkgConfig::CURL Threads::Threads)
endif()
