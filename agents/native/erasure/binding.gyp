{
  "targets": [
    {
      "target_name": "daios_erasure",
      "sources": ["src/addon.cc", "src/gf256.cc", "src/kernels_x86.cc", "src/sha256.cc"],
      "include_dirs": ["../common"],
      "defines": ["NAPI_VERSION=8", "NAPI_DISABLE_CPP_EXCEPTIONS"],
      "cflags_cc": ["-O3", "-std=c++17", "-fno-exceptions", "-fno-rtti", "-Wall", "-Wextra"],
      "cflags_cc!": ["-fno-omit-frame-pointer"],
      "xcode_settings": {
        "OTHER_CPLUSPLUSFLAGS": ["-O3", "-std=c++17"]
      }
    }
  ]
}
