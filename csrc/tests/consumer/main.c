/* Loads a .dbnn through the installed C API, runs it on zeros, and checks the
 * error path: prints "ok <outputs> <first value>" and exits 0 on success. */
#include <dirnet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char** argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: consumer MODEL.dbnn\n");
    return 2;
  }
  dirnet_model* bad = NULL;
  if (dirnet_load_file("/nonexistent/model.dbnn", NULL, &bad) == DIRNET_OK || bad != NULL ||
      strlen(dirnet_last_error()) == 0) {
    fprintf(stderr, "loading a missing file did not fail cleanly\n");
    return 1;
  }
  dirnet_options opt = {1, NULL, 0};
  dirnet_model* m = NULL;
  if (dirnet_load_file(argv[1], &opt, &m) != DIRNET_OK) {
    fprintf(stderr, "load: %s\n", dirnet_last_error());
    return 1;
  }
  int64_t chw[3] = {dirnet_input_channels(m), 8, 8};
  dirnet_input_size_hint(m, chw);
  int64_t in_shape[4] = {1, chw[0], chw[1], chw[2]};
  const size_t n_in = (size_t)(chw[0] * chw[1] * chw[2]);
  float* x = calloc(n_in, sizeof(float));
  const int nout = dirnet_num_outputs(m);
  float** outs = calloc((size_t)nout, sizeof(float*));
  size_t* caps = calloc((size_t)nout, sizeof(size_t));
  for (int i = 0; i < nout; ++i) {
    int64_t s[4];
    int rank = 0;
    if (dirnet_output_shape(m, i, in_shape, s, &rank) != DIRNET_OK) {
      fprintf(stderr, "output_shape: %s\n", dirnet_last_error());
      return 1;
    }
    caps[i] = (size_t)(s[0] * s[1] * s[2] * s[3]);
    outs[i] = calloc(caps[i], sizeof(float));
  }
  if (dirnet_run(m, x, in_shape, outs, caps) != DIRNET_OK) {
    fprintf(stderr, "run: %s\n", dirnet_last_error());
    return 1;
  }
  printf("ok %d %g (dirnet %s, kernel %s)\n", nout, (double)outs[0][0], dirnet_version(), dirnet_kernel_path(m));
  for (int i = 0; i < nout; ++i) free(outs[i]);
  free(outs);
  free(caps);
  free(x);
  dirnet_free(m);
  return 0;
}
