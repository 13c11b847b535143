# Included from bench/CMakeLists.txt: the scheduler benchmark (sched_bench.sh
# runs it with a private PostgreSQL for the full-decision figures).
add_executable(sched_bench ${CMAKE_CURRENT_LIST_DIR}/sched_bench.c)
target_link_libraries(sched_bench PRIVATE nube_sched m)
# The energy simulation on the PlanetLab traces (sched_energy.sh unpacks them).
add_executable(sched_energy ${CMAKE_CURRENT_LIST_DIR}/sched_energy.c)
target_link_libraries(sched_energy PRIVATE nube_sched m)
