# The boot benchmark's runner (bench/vmm_boot.c); bench/vmm_boot.sh compiles it
# itself and runs it in the nested test host, so CMake only keeps it compiling.
add_executable(vmm_boot ${CMAKE_CURRENT_LIST_DIR}/vmm_boot.c)
