# What client/cpp needs when it is the top-level project (a standalone build
# of the SDK, or the source archive made by dist.sh) and the main build
# otherwise provides: the version, the dependencies, and tokenbroker::proto.
#
# The protos and the license come from TOKENBROKER_PROTO_DIR and
# TOKENBROKER_LICENSE_FILE: in the source archive they sit beside this
# project (proto/, LICENSE, and VERSION holds the version); in the
# repository they are ../../proto and ../../LICENSE, and the version is the
# top-level project's.

# Sets `out` to the SDK's version: the archive's VERSION file, else the
# repository's `project(tokenbroker VERSION ...)`.
function(tokenbroker_sdk_version out)
  set(_root ${CMAKE_CURRENT_FUNCTION_LIST_DIR}/..)
  if(EXISTS ${_root}/VERSION)
    file(STRINGS ${_root}/VERSION _version LIMIT_COUNT 1)
  else()
    file(STRINGS ${_root}/../../CMakeLists.txt _line
      REGEX "^project\\(tokenbroker VERSION [0-9.]+" LIMIT_COUNT 1)
    string(REGEX REPLACE "^project\\(tokenbroker VERSION ([0-9.]+).*" "\\1" _version "${_line}")
  endif()
  if(NOT _version MATCHES "^[0-9]+\\.[0-9]+\\.[0-9]+$")
    message(FATAL_ERROR "cannot tell the SDK's version (VERSION file or ../../CMakeLists.txt)")
  endif()
  set(${out} ${_version} PARENT_SCOPE)
endfunction()

# Finds the dependencies and defines tokenbroker::proto. A macro: the
# variables it sets are the project's.
macro(tokenbroker_sdk_standalone_setup)
  set(TOKENBROKER_SDK_STANDALONE ON)
  set(TOKENBROKER_BUILD_CPP_SDK ON)  # the install rules
  if(NOT CMAKE_BUILD_TYPE AND NOT CMAKE_CONFIGURATION_TYPES)
    set(CMAKE_BUILD_TYPE Release CACHE STRING "Build type" FORCE)
  endif()
  if(EXISTS ${CMAKE_CURRENT_SOURCE_DIR}/proto)
    set(_tb_dist_root ${CMAKE_CURRENT_SOURCE_DIR})
  else()
    get_filename_component(_tb_dist_root ${CMAKE_CURRENT_SOURCE_DIR}/../.. ABSOLUTE)
  endif()
  set(TOKENBROKER_PROTO_DIR ${_tb_dist_root}/proto CACHE PATH
    "Folder holding tokenbroker/v1/*.proto and google/rpc/*.proto")
  set(TOKENBROKER_LICENSE_FILE ${_tb_dist_root}/LICENSE CACHE FILEPATH
    "The license installed beside the package")
  option(TOKENBROKER_SDK_WITH_CURL "Build the libcurl helper (curl_headers.h) when libcurl is found"
    ON)

  find_package(Threads REQUIRED)
  find_package(Protobuf REQUIRED)
  find_package(absl CONFIG REQUIRED)
  find_package(gRPC CONFIG REQUIRED)
  set(TOKENBROKER_SDK_CURL OFF)
  if(TOKENBROKER_SDK_WITH_CURL)
    find_package(CURL)
    if(CURL_FOUND)
      set(TOKENBROKER_SDK_CURL ON)
    else()
      message(STATUS "libcurl not found: the SDK is built without curl_headers.h")
    endif()
  endif()
  tokenbroker_sdk_proto_library()
endmacro()

# tokenbroker::proto: the C++ messages and gRPC stubs of the protos the SDK
# uses, generated at build time into ${CMAKE_CURRENT_BINARY_DIR}/gen, as
# proto/CMakeLists.txt does in the main build. protoc is run directly:
# protobuf_generate() names its outputs after the protos' path relative to
# CMAKE_CURRENT_SOURCE_DIR, which TOKENBROKER_PROTO_DIR is not under.
function(tokenbroker_sdk_proto_library)
  set(_out ${CMAKE_CURRENT_BINARY_DIR}/gen)
  file(MAKE_DIRECTORY ${_out})
  set(_srcs)
  foreach(_proto IN ITEMS tokenbroker/v1/integration.proto
      tokenbroker/v1/integration_service.proto tokenbroker/v1/token_service.proto
      google/rpc/status.proto google/rpc/error_details.proto)
    if(NOT EXISTS ${TOKENBROKER_PROTO_DIR}/${_proto})
      message(FATAL_ERROR "${TOKENBROKER_PROTO_DIR}/${_proto} not found: set TOKENBROKER_PROTO_DIR")
    endif()
    string(REGEX REPLACE "\\.proto$" "" _stem ${_proto})
    set(_generated ${_out}/${_stem}.pb.h ${_out}/${_stem}.pb.cc ${_out}/${_stem}.grpc.pb.h
      ${_out}/${_stem}.grpc.pb.cc)
    add_custom_command(OUTPUT ${_generated}
      COMMAND protobuf::protoc --cpp_out=${_out} --grpc_out=${_out}
        --plugin=protoc-gen-grpc=$<TARGET_FILE:gRPC::grpc_cpp_plugin>
        -I ${TOKENBROKER_PROTO_DIR} ${TOKENBROKER_PROTO_DIR}/${_proto}
      DEPENDS ${TOKENBROKER_PROTO_DIR}/${_proto} protobuf::protoc gRPC::grpc_cpp_plugin
      COMMENT "Generating C++ of ${_proto}" VERBATIM)
    list(APPEND _srcs ${_generated})
  endforeach()
  add_library(tokenbroker_proto STATIC ${_srcs})
  add_library(tokenbroker::proto ALIAS tokenbroker_proto)
  target_link_libraries(tokenbroker_proto PUBLIC protobuf::libprotobuf gRPC::grpc++)
  target_include_directories(tokenbroker_proto PUBLIC ${_out})
endfunction()
