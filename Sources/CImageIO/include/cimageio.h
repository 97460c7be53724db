// CImageIO: a small C shim over Debian's libturbojpeg (TurboJPEG 2.x API) and libspng 0.7.
//
// Every function takes a caller-owned message buffer (`msg`, `msglen`) that receives one line describing a failure.
// Pixel buffers are packed rows (stride = width * channels), 8 bits per sample, BGR order for 3 channels.
#pragma once

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// Status codes returned by every function.
#define CIIO_OK 0
/// The data is damaged (bad marker, bad Huffman code, CRC mismatch, bad zlib stream, ...).
#define CIIO_ERR_CORRUPT 1
/// The data ends before the image is complete.
#define CIIO_ERR_TRUNCATED 2
/// A valid file using a feature this shim does not handle (e.g. an unusual colour space).
#define CIIO_ERR_UNSUPPORTED 3
/// Memory could not be allocated.
#define CIIO_ERR_NOMEM 4
/// The caller passed something invalid (null buffer, bad channel count, bad size).
#define CIIO_ERR_ARGUMENT 5
/// The encoder failed.
#define CIIO_ERR_ENCODE 6
/// The data is not a file of the expected format (bad signature).
#define CIIO_ERR_FORMAT 7

/// JPEG colour spaces reported by ciio_jpeg_header (mirrors TurboJPEG's TJCS values).
#define CIIO_JPEG_CS_RGB 0
#define CIIO_JPEG_CS_YCBCR 1
#define CIIO_JPEG_CS_GRAY 2
#define CIIO_JPEG_CS_CMYK 3
#define CIIO_JPEG_CS_YCCK 4

/// Reads a JPEG header: dimensions and colour space (one of CIIO_JPEG_CS_*).
int ciio_jpeg_header(const uint8_t *data, size_t size, int *width, int *height, int *colorspace, char *msg,
                     size_t msglen);

/// Decodes a JPEG into `out` (width * height * channels bytes; channels 3 = BGR, 1 = grey), with libjpeg's default
/// settings (accurate integer IDCT, fancy upsampling), as OpenCV's cv2.imread does. CMYK/YCCK files are converted
/// to BGR/grey with OpenCV's own integer formulas. A stream that ends early gives CIIO_ERR_TRUNCATED; other libjpeg
/// warnings (e.g. extraneous bytes before a marker) are tolerated, as in OpenCV.
int ciio_jpeg_decode(const uint8_t *data, size_t size, int channels, uint8_t *out, size_t outsize, char *msg,
                     size_t msglen);

/// An opaque reusable JPEG encoder (a TurboJPEG compressor handle); NULL on failure.
void *ciio_jpeg_encoder_new(void);
void ciio_jpeg_encoder_free(void *encoder);

/// Encodes packed pixels (channels 3 = BGR, 1 = grey) as a baseline JPEG with the given quality (1...100) and
/// 4:2:0 chroma subsampling for colour (`subsample420` = 0 gives 4:4:4), accurate DCT. `encoder` may be NULL (a
/// temporary one is used). On success *out holds a buffer to release with ciio_free_jpeg.
int ciio_jpeg_encode(void *encoder, const uint8_t *pixels, int width, int height, int channels, int quality,
                     int subsample420, uint8_t **out, size_t *outsize, char *msg, size_t msglen);
void ciio_free_jpeg(uint8_t *buffer);

/// Reads a PNG header: dimensions, bit depth and PNG colour type (0 grey, 2 RGB, 3 palette, 4 grey+alpha, 6 RGBA).
int ciio_png_header(const uint8_t *data, size_t size, int *width, int *height, int *bit_depth, int *color_type,
                    char *msg, size_t msglen);

/// Decodes a PNG into `out` (width * height * channels; 3 = BGR, 1 = grey). As OpenCV's IMREAD_COLOR /
/// IMREAD_GRAYSCALE through libpng: palettes expanded, alpha dropped (not composited), 16-bit reduced to the high
/// byte, no gamma applied; colour to grey uses libpng's rgb_to_gray fixed-point weights (0.299, 0.587).
int ciio_png_decode(const uint8_t *data, size_t size, int channels, uint8_t *out, size_t outsize, char *msg,
                    size_t msglen);

/// Copies the payload of the PNG's eXIf chunk (a TIFF structure), if one comes before the image data, into `buf`
/// (up to `buflen` bytes); *len receives its full length, 0 when there is none. Never fails on a missing chunk.
int ciio_png_exif(const uint8_t *data, size_t size, uint8_t *buf, size_t buflen, size_t *len, char *msg, size_t msglen);

/// PNG encoder styles: adaptive row filters (libspng's default, for photos), or no filters with run-length
/// deflate (much faster and smaller for masks and label maps).
#define CIIO_PNG_ADAPTIVE 0
#define CIIO_PNG_FLAT 1

/// Encodes packed pixels (channels 3 = BGR, 1 = grey) as an 8-bit PNG with zlib compression `level` (0...9) in
/// the given style (CIIO_PNG_*). On success *out holds a buffer to release with ciio_free_png.
int ciio_png_encode(const uint8_t *pixels, int width, int height, int channels, int level, int style, uint8_t **out,
                    size_t *outsize, char *msg, size_t msglen);
void ciio_free_png(uint8_t *buffer);

/// Decodes a label map, one byte a pixel: a palette PNG's indices as stored (not expanded to colours: DAVIS-2017
/// annotations hold object ids so), or a grey PNG's samples (bit depth 8 or less, unscaled). Other PNGs give
/// CIIO_ERR_UNSUPPORTED. *indexed is 1 for a palette file. `out` holds width * height bytes.
int ciio_png_decode_labels(const uint8_t *data, size_t size, uint8_t *out, size_t outsize, int *indexed, char *msg,
                           size_t msglen);

/// Encodes a label map (one byte a pixel) as an 8-bit palette PNG with `colours` RGB entries (1...256; every pixel
/// must be below `colours`), flat style. On success *out holds a buffer to release with ciio_free_png.
int ciio_png_encode_indexed(const uint8_t *labels, int width, int height, const uint8_t *palette_rgb, int colours,
                            int level, uint8_t **out, size_t *outsize, char *msg, size_t msglen);

#ifdef __cplusplus
}
#endif
