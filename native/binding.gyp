{
  "variables": {
    "openmp%": 1
  },
  "targets": [
    {
      "target_name": "ealstm_native",
      "sources": ["ealstm_native.c"],
      "cflags": ["-O3", "-fno-math-errno", "-fno-trapping-math", "-Wall", "-Wextra", "-Wno-unused-parameter"],
      "cflags_c": ["-std=gnu11"],
      "cflags!": ["-O2", "-O1", "-O0"],
      "conditions": [
        ["OS=='linux'", {
          "include_dirs": [
            "/usr/include/x86_64-linux-gnu/openblas-pthread",
            "/usr/include/aarch64-linux-gnu/openblas-pthread",
            "/usr/include/openblas"
          ]
        }],
        ["openmp==1", {
          "cflags": ["-fopenmp"],
          "libraries": ["-fopenmp"]
        }]
      ],
      "libraries": ["-lopenblas", "-lm"]
    }
  ]
}
