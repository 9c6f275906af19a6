// zlib's inflateInit2 is a macro; this inline function exposes it for gzip streams
// (window bits 15 + 16 = gzip wrapper only, so a non-gzip file is an error, not raw deflate).
#include <zlib.h>

static inline int czlib_inflate_init_gzip(z_stream *stream) {
    return inflateInit2(stream, 15 + 16);
}
