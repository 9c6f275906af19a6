// OpenBLAS's CBLAS interface plus its configuration queries (which kernel set runs).
#include <cblas.h>
