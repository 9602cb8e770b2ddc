# `cmake --install BUILD [--prefix P]`: the procpool binary with its man page and shell
# completions, the library as static archives, its public headers under include/procpool/, a
# CMake package (find_package(procpool) gives the target procpool::procpool) and a pkg-config
# file (procpool.pc). The archives are the library
# (procpool_common), its worker hook (procpool_worker: procpool::worker_main), its log and, in
# the default static build, fmt's implementation, so a program needs nothing else but threads.
include(CMakePackageConfigHelpers)

# The one target users link: everything public, worker hook included.
add_library(procpool_library INTERFACE)
target_link_libraries(procpool_library INTERFACE procpool_worker)
set_target_properties(procpool_library PROPERTIES EXPORT_NAME procpool)
add_library(procpool::procpool ALIAS procpool_library)
target_include_directories(procpool_worker PUBLIC ${PROCPOOL_INCLUDE_DIRS})
# The headers need C++20 (the archives are position-independent: CMakeLists.txt).
target_compile_features(procpool_common PUBLIC cxx_std_20)


# The tool as people install it (the `tool` component, what scripts/package puts in the .deb):
# the binary, its man page, and its completions where bash-completion, zsh and fish look.
install(TARGETS procpool RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR} COMPONENT tool)
install(FILES cli/man/procpool.1 DESTINATION ${CMAKE_INSTALL_MANDIR}/man1 COMPONENT tool)
install(FILES cli/completions/procpool.bash RENAME procpool COMPONENT tool
        DESTINATION ${CMAKE_INSTALL_DATADIR}/bash-completion/completions)
install(FILES cli/completions/_procpool COMPONENT tool
        DESTINATION ${CMAKE_INSTALL_DATADIR}/zsh/site-functions)
install(FILES cli/completions/procpool.fish COMPONENT tool
        DESTINATION ${CMAKE_INSTALL_DATADIR}/fish/vendor_completions.d)
install(TARGETS procpool_library procpool_worker procpool_common procpool_log procpool_fmt
        EXPORT procpoolTargets
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
        INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(DIRECTORY include/procpool DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}
        FILES_MATCHING PATTERN "*.h")
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/include/procpool/version.h
        DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/procpool)

set(PROCPOOL_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/procpool)
install(EXPORT procpoolTargets NAMESPACE procpool:: DESTINATION ${PROCPOOL_CMAKE_DIR})
configure_package_config_file(cmake/procpoolConfig.cmake.in
                              ${CMAKE_CURRENT_BINARY_DIR}/procpoolConfig.cmake
                              INSTALL_DESTINATION ${PROCPOOL_CMAKE_DIR})
write_basic_package_version_file(${CMAKE_CURRENT_BINARY_DIR}/procpoolConfigVersion.cmake
                                 COMPATIBILITY SameMinorVersion)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/procpoolConfig.cmake
              ${CMAKE_CURRENT_BINARY_DIR}/procpoolConfigVersion.cmake
        DESTINATION ${PROCPOOL_CMAKE_DIR})

# pkg-config: the same archives, in link order.
if(PROCPOOL_STATIC)
  set(PROCPOOL_PC_FMT "-lprocpool_fmt")
  set(PROCPOOL_PC_REQUIRES "")
else()
  set(PROCPOOL_PC_FMT "")
  set(PROCPOOL_PC_REQUIRES "spdlog fmt")
endif()
# The prefix from where the file lies, so an install with `--prefix ELSEWHERE` works as well.
file(RELATIVE_PATH PROCPOOL_PC_UP /${CMAKE_INSTALL_LIBDIR}/pkgconfig /)
set(PROCPOOL_PC_PREFIX "\${pcfiledir}/${PROCPOOL_PC_UP}")
# A sanitizer build's archives need its runtimes at link time.
string(JOIN " " PROCPOOL_PC_EXTRA ${PROCPOOL_SANITIZER_FLAGS})
configure_file(cmake/procpool.pc.in ${CMAKE_CURRENT_BINARY_DIR}/procpool.pc @ONLY)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/procpool.pc
        DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
