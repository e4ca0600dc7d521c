{
  "targets": [
    {
      "target_name": "daios_poseidon",
      "sources": ["src/addon.cc", "src/poseidon.cc", "src/poseidon_ifma.cc"],
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
