# The installable library and package:
#  - libmbert.so (mbert::mbert) and libmbert.a (mbert::mbert_static): the layers' objects
#    (core, ops, batch, tokenizer, model, hub, tasks) and the C API in one library. The shared one
#    exports only the public API (MBERT_API / MBERT_C_API); its dependencies stay private.
#  - include/mbert/*.h, the `mbert` CLI, lib/cmake/mbert (find_package(mbert)) and
#    lib/pkgconfig/mbert.pc.
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

set(MBERT_LIB_LAYERS mbert_core mbert_ops mbert_batch mbert_tokenizer mbert_model mbert_hub
    mbert_tasks mbert_capi)
set(MBERT_LIB_OBJECTS)
foreach(layer ${MBERT_LIB_LAYERS})
  list(APPEND MBERT_LIB_OBJECTS $<TARGET_OBJECTS:${layer}>)
endforeach()
set(MBERT_LIB_DEPS DNNL::dnnl PkgConfig::UTF8PROC CURL::libcurl OpenSSL::Crypto OpenMP::OpenMP_CXX
    Threads::Threads)

add_library(mbert_shared SHARED ${MBERT_LIB_OBJECTS})
target_link_libraries(mbert_shared PRIVATE ${MBERT_LIB_DEPS})
# Every symbol a consumer needs must be defined: no undefined references left to the consumer.
target_link_options(mbert_shared PRIVATE -Wl,--no-undefined)
set_target_properties(mbert_shared PROPERTIES OUTPUT_NAME mbert EXPORT_NAME mbert
                      VERSION ${PROJECT_VERSION} SOVERSION ${PROJECT_VERSION_MAJOR})

add_library(mbert_static STATIC ${MBERT_LIB_OBJECTS})
set_target_properties(mbert_static PROPERTIES OUTPUT_NAME mbert EXPORT_NAME mbert_static)
# A static archive carries no dependencies: its consumers link them. Installed, they are named
# as plain libraries so that find_package(mbert) needs no find_package of oneDNN or utf8proc.
target_link_libraries(mbert_static INTERFACE
  "$<BUILD_INTERFACE:${MBERT_LIB_DEPS}>"
  "$<INSTALL_INTERFACE:dnnl;utf8proc;curl;crypto;gomp;pthread;stdc++;m>")

foreach(t mbert_shared mbert_static)
  target_include_directories(${t} INTERFACE $<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}/include>
                             $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>)
  target_compile_features(${t} INTERFACE cxx_std_20)
endforeach()

install(TARGETS mbert_shared mbert_static EXPORT mbertTargets
        LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
        INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(DIRECTORY ${PROJECT_SOURCE_DIR}/include/mbert DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
if(TARGET mbert)
  install(TARGETS mbert RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
endif()

set(MBERT_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/mbert)
install(EXPORT mbertTargets NAMESPACE mbert:: DESTINATION ${MBERT_CMAKE_DIR})
configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/mbertConfig.cmake.in
                              ${PROJECT_BINARY_DIR}/mbertConfig.cmake
                              INSTALL_DESTINATION ${MBERT_CMAKE_DIR})
write_basic_package_version_file(${PROJECT_BINARY_DIR}/mbertConfigVersion.cmake
                                 VERSION ${PROJECT_VERSION} COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/mbertConfig.cmake ${PROJECT_BINARY_DIR}/mbertConfigVersion.cmake
        DESTINATION ${MBERT_CMAKE_DIR})

# Relocatable: the prefix is found from the .pc file's own place, so `cmake --install --prefix`
# anywhere gives a working file.
file(RELATIVE_PATH MBERT_PC_TO_PREFIX "/${CMAKE_INSTALL_LIBDIR}/pkgconfig" "/")
string(REGEX REPLACE "/$" "" MBERT_PC_TO_PREFIX "${MBERT_PC_TO_PREFIX}")
configure_file(${PROJECT_SOURCE_DIR}/cmake/mbert.pc.in ${PROJECT_BINARY_DIR}/mbert.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/mbert.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
