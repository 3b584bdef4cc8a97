/* dirnet: run binary neural networks exported as .dbnn files (C API).
 *
 * The whole engine is the static library dirnet_core (C++17 inside, plain C
 * at this boundary: no C++ exception ever crosses it). Typical use:
 *
 *   dirnet_model* m = NULL;
 *   if (dirnet_load_file("model.dbnn", NULL, &m) != DIRNET_OK) {
 *     fprintf(stderr, "%s\n", dirnet_last_error());
 *     return 1;
 *   }
 *   int64_t in_shape[4] = {1, 3, 224, 224}, out_shape[4];
 *   int rank;
 *   dirnet_output_shape(m, 0, in_shape, out_shape, &rank);
 *   ... allocate out_shape[0] * ... floats ...
 *   float* outs[1] = {logits};
 *   size_t caps[1] = {n_logits};
 *   dirnet_run(m, image, in_shape, outs, caps);
 *   dirnet_free(m);
 *
 * Thread safety: distinct models are independent. One model may be shared
 * by several threads; its calls are serialized by a lock inside the model
 * (each run already uses the model's own worker threads). dirnet_last_error()
 * is per thread. Load and free are not to race with other calls on the same
 * model.
 *
 * Tensors are float32, NCHW, C order. Outputs of rank 2 are (N, features);
 * their shape is reported with out_shape[2] = out_shape[3] = 1.
 */
#ifndef DIRNET_H_
#define DIRNET_H_

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define DIRNET_API __attribute__((visibility("default")))
#else
#define DIRNET_API
#endif

typedef enum dirnet_status {
  DIRNET_OK = 0,
  DIRNET_ERROR_ARGUMENT = 1, /* a bad argument: null pointer, shape the graph cannot take, ... */
  DIRNET_ERROR_FORMAT = 2,   /* not a readable .dbnn file (truncated, corrupted, unknown op) */
  DIRNET_ERROR_IO = 3,       /* the file cannot be opened or read */
  DIRNET_ERROR_MEMORY = 4,   /* an allocation failed or the buffer limit was reached */
  DIRNET_ERROR_INTERNAL = 5  /* anything else (a bug: please report it) */
} dirnet_status;

typedef struct dirnet_model dirnet_model;

typedef struct dirnet_options {
  int threads;             /* worker threads; 0: all CPUs the process may use */
  const char* kernel_path; /* NULL or "": the best this CPU supports (or $DIRNET_KERNEL);
                              else "avx512", "avx2" (x86-64), "neon_dot", "neon" (aarch64),
                              "portable" or "reference" */
  uint64_t max_bytes;      /* limit on activation buffers for one input shape; 0: 8 GiB */
} dirnet_options;

/* Library version, e.g. "0.1.0". */
DIRNET_API const char* dirnet_version(void);

/* The message of the last failed call in this thread ("" if none). Valid
 * until the next failing call in this thread. */
DIRNET_API const char* dirnet_last_error(void);

/* Load a model. `options` may be NULL (defaults). On failure *model is NULL. */
DIRNET_API dirnet_status dirnet_load_file(const char* path, const dirnet_options* options,
                                          dirnet_model** model);
/* The same from a file's bytes in memory (copied; the buffer may be freed after). */
DIRNET_API dirnet_status dirnet_load_memory(const void* data, size_t size, const dirnet_options* options,
                                            dirnet_model** model);
DIRNET_API void dirnet_free(dirnet_model* model);

/* Inputs: a .dbnn graph has one input (N, channels, H, W). */
DIRNET_API int dirnet_num_inputs(const dirnet_model* model);
DIRNET_API int dirnet_input_channels(const dirnet_model* model);
/* The (C, H, W) the model was exported for, if the file records it: returns 1
 * and fills chw, else 0. */
DIRNET_API int dirnet_input_size_hint(const dirnet_model* model, int64_t chw[3]);

/* Outputs: one or more, in the order the exported model returned them. */
DIRNET_API int dirnet_num_outputs(const dirnet_model* model);
DIRNET_API const char* dirnet_output_name(const dirnet_model* model, int index);
/* Shape of output `index` for an input of shape in_shape (N, C, H, W). */
DIRNET_API dirnet_status dirnet_output_shape(dirnet_model* model, int index, const int64_t in_shape[4],
                                             int64_t out_shape[4], int* rank);

/* Run: input is float32 NCHW of in_shape; outputs[i] receives output i and
 * holds capacities[i] floats (checked against the output's size). */
DIRNET_API dirnet_status dirnet_run(dirnet_model* model, const float* input, const int64_t in_shape[4],
                                    float* const* outputs, const size_t* capacities);

DIRNET_API int dirnet_threads(const dirnet_model* model);
/* Change the number of worker threads (0: all CPUs). */
DIRNET_API dirnet_status dirnet_set_threads(dirnet_model* model, int threads);
/* The kernel path this model runs on ("avx512", "avx2", "neon_dot", "neon", "portable",
   "reference"). */
DIRNET_API const char* dirnet_kernel_path(const dirnet_model* model);
/* The file's JSON header (class names, input description, graph, ...). */
DIRNET_API const char* dirnet_header_json(const dirnet_model* model);

#ifdef __cplusplus
}
#endif

#endif /* DIRNET_H_ */
