# The whole-stack boot benchmark's timer (bench/server_boot.c); bench/server_boot.sh
# brings up a private all-in-one cloud and runs it. Built, never run by ctest.
pkg_check_modules(SERVER_BOOT_LIBVIRT IMPORTED_TARGET libvirt)
if(CURL_FOUND AND SERVER_BOOT_LIBVIRT_FOUND)
    add_executable(server_boot ${CMAKE_CURRENT_LIST_DIR}/server_boot.c)
    target_link_libraries(server_boot PRIVATE nube_common PkgConfig::CURL
                          PkgConfig::SERVER_BOOT_LIBVIRT Threads::Threads)
else()
    message(STATUS "bench: libcurl or libvirt-dev missing: server_boot not built")
endif()
