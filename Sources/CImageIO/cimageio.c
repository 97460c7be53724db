// CImageIO: JPEG through TurboJPEG 2.x (libjpeg-turbo 2.1), PNG through libspng 0.7.
#include "cimageio.h"

#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <spng.h>
#include <turbojpeg.h>

static int fail(char *msg, size_t msglen, int code, const char *fmt, ...) {
    if (msg && msglen > 0) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(msg, msglen, fmt, ap);
        va_end(ap);
        // One line: libjpeg messages never contain newlines, but be safe.
        for (char *p = msg; *p; p++) {
            if (*p == '\n' || *p == '\r') *p = ' ';
        }
    }
    return code;
}

// MARK: - JPEG

static int jpeg_classify(const char *message) {
    if (!message) return CIIO_ERR_CORRUPT;
    if (strstr(message, "Premature end") || strstr(message, "premature end")) return CIIO_ERR_TRUNCATED;
    if (strstr(message, "Unsupported marker")) return CIIO_ERR_CORRUPT;
    if (strstr(message, "Unsupported") || strstr(message, "not supported")) return CIIO_ERR_UNSUPPORTED;
    if (strstr(message, "Not a JPEG")) return CIIO_ERR_FORMAT;
    return CIIO_ERR_CORRUPT;
}

int ciio_jpeg_header(const uint8_t *data, size_t size, int *width, int *height, int *colorspace, char *msg,
                     size_t msglen) {
    if (!data || !width || !height || !colorspace) return fail(msg, msglen, CIIO_ERR_ARGUMENT, "null argument");
    if (size < 3 || data[0] != 0xFF || data[1] != 0xD8 || data[2] != 0xFF)
        return fail(msg, msglen, CIIO_ERR_FORMAT, "not a JPEG file (no SOI marker)");
    if (size > ULONG_MAX) return fail(msg, msglen, CIIO_ERR_ARGUMENT, "JPEG data too large");
    tjhandle tj = tjInitDecompress();
    if (!tj) return fail(msg, msglen, CIIO_ERR_NOMEM, "cannot create JPEG decoder: %s", tjGetErrorStr2(NULL));
    int subsamp = 0, w = 0, h = 0, cs = 0;
    int rc = tjDecompressHeader3(tj, data, (unsigned long)size, &w, &h, &subsamp, &cs);
    if (rc != 0) {
        const char *s = tjGetErrorStr2(tj);
        int code = jpeg_classify(s);
        fail(msg, msglen, code, "invalid JPEG header: %s", s);
        tjDestroy(tj);
        return code;
    }
    tjDestroy(tj);
    if (w <= 0 || h <= 0)   // the data ended (a fake EOI was inserted) before any frame header
        return fail(msg, msglen, CIIO_ERR_TRUNCATED, "no frame header before the end of the data");
    *width = w;
    *height = h;
    *colorspace = cs;
    return CIIO_OK;
}

// OpenCV's CMYK conversions (imgcodecs/src/utils.cpp), integer-exact.
static void cmyk_to_bgr(const uint8_t *cmyk, uint8_t *bgr, size_t n) {
    for (size_t i = 0; i < n; i++, cmyk += 4, bgr += 3) {
        int c = cmyk[0], m = cmyk[1], y = cmyk[2], k = cmyk[3];
        c = k - ((255 - c) * k >> 8);
        m = k - ((255 - m) * k >> 8);
        y = k - ((255 - y) * k >> 8);
        bgr[2] = (uint8_t)c;
        bgr[1] = (uint8_t)m;
        bgr[0] = (uint8_t)y;
    }
}

static void cmyk_to_gray(const uint8_t *cmyk, uint8_t *gray, size_t n) {
    enum { SCALE = 14, CR = 4899, CG = 9617, CB = 1868 };   // round(0.299, 0.587, 0.114 * 2^14)
    for (size_t i = 0; i < n; i++, cmyk += 4) {
        int c = cmyk[0], m = cmyk[1], y = cmyk[2], k = cmyk[3];
        c = k - ((255 - c) * k >> 8);
        m = k - ((255 - m) * k >> 8);
        y = k - ((255 - y) * k >> 8);
        gray[i] = (uint8_t)((y * CB + m * CG + c * CR + (1 << (SCALE - 1))) >> SCALE);
    }
}

int ciio_jpeg_decode(const uint8_t *data, size_t size, int channels, uint8_t *out, size_t outsize, char *msg,
                     size_t msglen) {
    if (!data || !out) return fail(msg, msglen, CIIO_ERR_ARGUMENT, "null argument");
    if (channels != 1 && channels != 3) return fail(msg, msglen, CIIO_ERR_ARGUMENT, "channels must be 1 or 3");
    if (size < 3 || data[0] != 0xFF || data[1] != 0xD8 || data[2] != 0xFF)
        return fail(msg, msglen, CIIO_ERR_FORMAT, "not a JPEG file (no SOI marker)");
    if (size > ULONG_MAX) return fail(msg, msglen, CIIO_ERR_ARGUMENT, "JPEG data too large");

    tjhandle tj = tjInitDecompress();
    if (!tj) return fail(msg, msglen, CIIO_ERR_NOMEM, "cannot create JPEG decoder: %s", tjGetErrorStr2(NULL));
    int subsamp = 0, w = 0, h = 0, cs = 0;
    if (tjDecompressHeader3(tj, data, (unsigned long)size, &w, &h, &subsamp, &cs) != 0) {
        const char *s = tjGetErrorStr2(tj);
        int code = jpeg_classify(s);
        fail(msg, msglen, code, "invalid JPEG header: %s", s);
        tjDestroy(tj);
        return code;
    }
    if (w <= 0 || h <= 0) {
        tjDestroy(tj);
        return fail(msg, msglen, CIIO_ERR_TRUNCATED, "no frame header before the end of the data");
    }
    size_t pixels = (size_t)w * (size_t)h;
    if (outsize < pixels * (size_t)channels) {
        tjDestroy(tj);
        return fail(msg, msglen, CIIO_ERR_ARGUMENT, "output buffer too small for %dx%dx%d", w, h, channels);
    }
    int cmyk = (cs == TJCS_CMYK || cs == TJCS_YCCK);
    uint8_t *target = out;
    int pf = channels == 3 ? TJPF_BGR : TJPF_GRAY;
    int pitch = w * channels;
    if (cmyk) {
        if (pixels > SIZE_MAX / 4 || (size_t)w > INT_MAX / 4) {
            tjDestroy(tj);
            return fail(msg, msglen, CIIO_ERR_NOMEM, "image too large");
        }
        target = (uint8_t *)malloc(pixels * 4);
        if (!target) {
            tjDestroy(tj);
            return fail(msg, msglen, CIIO_ERR_NOMEM, "cannot allocate %zu bytes", pixels * 4);
        }
        pf = TJPF_CMYK;
        pitch = w * 4;
    }
    // Flags 0: libjpeg defaults (JDCT_ISLOW, fancy upsampling), the settings OpenCV's decoder leaves in place.
    // TJFLAG_LIMITSCANS rejects progressive files with more than 500 scans (a denial-of-service guard).
    int rc = tjDecompress2(tj, data, (unsigned long)size, target, w, pitch, h, pf, TJFLAG_LIMITSCANS);
    int status = CIIO_OK;
    if (rc != 0) {
        const char *s = tjGetErrorStr2(tj);
        int code = tjGetErrorCode(tj);
        int kind = jpeg_classify(s);
        if (code == TJERR_WARNING && kind != CIIO_ERR_TRUNCATED) {
            // A recoverable libjpeg warning ("Corrupt JPEG data: N extraneous bytes before marker", ...): OpenCV
            // prints it and returns the image; so do we (silently).
            status = CIIO_OK;
        } else {
            status = fail(msg, msglen, kind, "%s", s);
        }
    }
    if (status == CIIO_OK && cmyk) {
        if (channels == 3) cmyk_to_bgr(target, out, pixels);
        else cmyk_to_gray(target, out, pixels);
    }
    if (cmyk) free(target);
    tjDestroy(tj);
    return status;
}

void *ciio_jpeg_encoder_new(void) { return tjInitCompress(); }

void ciio_jpeg_encoder_free(void *encoder) {
    if (encoder) tjDestroy((tjhandle)encoder);
}

int ciio_jpeg_encode(void *encoder, const uint8_t *pixels, int width, int height, int channels, int quality,
                     int subsample420, uint8_t **out, size_t *outsize, char *msg, size_t msglen) {
    if (!pixels || !out || !outsize) return fail(msg, msglen, CIIO_ERR_ARGUMENT, "null argument");
    if (channels != 1 && channels != 3) return fail(msg, msglen, CIIO_ERR_ARGUMENT, "channels must be 1 or 3");
    if (width <= 0 || height <= 0 || width > 65500 || height > 65500)
        return fail(msg, msglen, CIIO_ERR_ARGUMENT, "JPEG cannot hold a %dx%d image", width, height);
    if (quality < 1) quality = 1;
    if (quality > 100) quality = 100;
    tjhandle tj = encoder ? (tjhandle)encoder : tjInitCompress();
    if (!tj) return fail(msg, msglen, CIIO_ERR_NOMEM, "cannot create JPEG encoder: %s", tjGetErrorStr2(NULL));
    unsigned char *buf = NULL;
    unsigned long len = 0;
    int pf = channels == 3 ? TJPF_BGR : TJPF_GRAY;
    int ss = channels == 1 ? TJSAMP_GRAY : (subsample420 ? TJSAMP_420 : TJSAMP_444);
    int rc = tjCompress2(tj, pixels, width, width * channels, height, pf, &buf, &len, ss, quality, 0);
    int status = CIIO_OK;
    if (rc != 0) {
        status = fail(msg, msglen, CIIO_ERR_ENCODE, "JPEG encoding failed: %s", tjGetErrorStr2(tj));
        if (buf) tjFree(buf);
    } else {
        *out = buf;
        *outsize = (size_t)len;
    }
    if (!encoder) tjDestroy(tj);
    return status;
}

void ciio_free_jpeg(uint8_t *buffer) {
    if (buffer) tjFree(buffer);
}

// MARK: - PNG

static const uint8_t png_signature[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};

static int png_classify(int err) {
    switch (err) {
    case SPNG_IO_EOF:
    case SPNG_IO_ERROR:
    case SPNG_EOF:
    case SPNG_EIDAT_TOO_SHORT: return CIIO_ERR_TRUNCATED;
    case SPNG_ESIGNATURE: return CIIO_ERR_FORMAT;
    case SPNG_EMEM: return CIIO_ERR_NOMEM;
    case SPNG_EBIT_DEPTH:
    case SPNG_ECOLOR_TYPE:
    case SPNG_ECOMPRESSION_METHOD:
    case SPNG_EFILTER_METHOD:
    case SPNG_EINTERLACE_METHOD: return CIIO_ERR_CORRUPT;
    default: return CIIO_ERR_CORRUPT;
    }
}

static spng_ctx *png_open(const uint8_t *data, size_t size, struct spng_ihdr *ihdr, char *msg, size_t msglen,
                          int *status) {
    if (size < 8 || memcmp(data, png_signature, 8) != 0) {
        *status = fail(msg, msglen, CIIO_ERR_FORMAT, "not a PNG file (bad signature)");
        return NULL;
    }
    spng_ctx *ctx = spng_ctx_new(0);
    if (!ctx) {
        *status = fail(msg, msglen, CIIO_ERR_NOMEM, "cannot create PNG decoder");
        return NULL;
    }
    // Bounded metadata (text chunks, ICC profiles...): 64 MiB per chunk and in total.
    spng_set_chunk_limits(ctx, (size_t)1 << 26, (size_t)1 << 26);
    int err = spng_set_png_buffer(ctx, data, size);
    if (!err) err = spng_get_ihdr(ctx, ihdr);
    if (err) {
        *status = fail(msg, msglen, png_classify(err), "invalid PNG header: %s", spng_strerror(err));
        spng_ctx_free(ctx);
        return NULL;
    }
    *status = CIIO_OK;
    return ctx;
}

int ciio_png_header(const uint8_t *data, size_t size, int *width, int *height, int *bit_depth, int *color_type,
                    char *msg, size_t msglen) {
    if (!data || !width || !height || !bit_depth || !color_type)
        return fail(msg, msglen, CIIO_ERR_ARGUMENT, "null argument");
    struct spng_ihdr ihdr;
    int status = CIIO_OK;
    spng_ctx *ctx = png_open(data, size, &ihdr, msg, msglen, &status);
    if (!ctx) return status;
    spng_ctx_free(ctx);
    if (ihdr.width > INT_MAX || ihdr.height > INT_MAX)
        return fail(msg, msglen, CIIO_ERR_CORRUPT, "PNG dimensions %ux%u out of range", ihdr.width, ihdr.height);
    *width = (int)ihdr.width;
    *height = (int)ihdr.height;
    *bit_depth = ihdr.bit_depth;
    *color_type = ihdr.color_type;
    return CIIO_OK;
}

int ciio_png_decode(const uint8_t *data, size_t size, int channels, uint8_t *out, size_t outsize, char *msg,
                    size_t msglen) {
    if (!data || !out) return fail(msg, msglen, CIIO_ERR_ARGUMENT, "null argument");
    if (channels != 1 && channels != 3) return fail(msg, msglen, CIIO_ERR_ARGUMENT, "channels must be 1 or 3");
    struct spng_ihdr ihdr;
    int status = CIIO_OK;
    spng_ctx *ctx = png_open(data, size, &ihdr, msg, msglen, &status);
    if (!ctx) return status;
    size_t pixels = (size_t)ihdr.width * (size_t)ihdr.height;
    if (outsize < pixels * (size_t)channels) {
        spng_ctx_free(ctx);
        return fail(msg, msglen, CIIO_ERR_ARGUMENT, "output buffer too small for %ux%ux%d", ihdr.width, ihdr.height,
                    channels);
    }
    int grey_source =
        ihdr.color_type == SPNG_COLOR_TYPE_GRAYSCALE || ihdr.color_type == SPNG_COLOR_TYPE_GRAYSCALE_ALPHA;
    // Decode to RGBA8 (palette expanded, low depths scaled up, 16-bit reduced to the high byte, no tRNS, no gamma),
    // then repack. Grey sources give R = G = B. 16-bit colour to grey is computed on the 16-bit samples (libpng
    // converts to grey before it strips 16 to 8 bits), so that case decodes to RGBA16.
    int wide = !grey_source && channels == 1 && ihdr.bit_depth == 16;
    int fmt = wide ? SPNG_FMT_RGBA16 : SPNG_FMT_RGBA8;
    size_t rgba_len = 0;
    int err = spng_decoded_image_size(ctx, fmt, &rgba_len);
    if (err) {
        spng_ctx_free(ctx);
        return fail(msg, msglen, png_classify(err), "%s", spng_strerror(err));
    }
    uint8_t *rgba = (uint8_t *)malloc(rgba_len ? rgba_len : 1);
    if (!rgba) {
        spng_ctx_free(ctx);
        return fail(msg, msglen, CIIO_ERR_NOMEM, "cannot allocate %zu bytes", rgba_len);
    }
    err = spng_decode_image(ctx, rgba, rgba_len, fmt, 0);
    // Read the chunks after the image data up to IEND, as libpng's png_read_end does for OpenCV: a file cut after
    // its pixels is still truncated.
    if (!err) err = spng_decode_chunks(ctx);
    spng_ctx_free(ctx);
    if (err) {
        free(rgba);
        return fail(msg, msglen, png_classify(err), "%s", spng_strerror(err));
    }
    // libpng's png_do_rgb_to_gray with the coefficients png_set_rgb_to_gray(png, 1, 0.299, 0.587) stores:
    // red 9797, green 19234, blue 32768 - both; no gamma tables (OpenCV sets no gamma).
    const uint32_t rc = 9797, gc = 19234, bc = 32768 - 9797 - 19234;
    if (wide) {
        const uint16_t *w16 = (const uint16_t *)rgba;   // host-endian
        for (size_t i = 0; i < pixels; i++, w16 += 4) {
            uint32_t r = w16[0], g = w16[1], b = w16[2];
            uint32_t grey16 = (rc * r + gc * g + bc * b + 16384) >> 15;   // 16-bit path: rounded, always computed
            out[i] = (uint8_t)(grey16 >> 8);                              // then png_set_strip_16: high byte
        }
        free(rgba);
        return CIIO_OK;
    }
    const uint8_t *s = rgba;
    if (channels == 3) {
        for (size_t i = 0; i < pixels; i++, s += 4, out += 3) {
            out[0] = s[2];
            out[1] = s[1];
            out[2] = s[0];
        }
    } else if (grey_source) {
        for (size_t i = 0; i < pixels; i++, s += 4) out[i] = s[0];
    } else {
        // 8-bit path: truncated, and only where the pixel is not already grey.
        for (size_t i = 0; i < pixels; i++, s += 4) {
            uint32_t r = s[0], g = s[1], b = s[2];
            out[i] = (r == g && r == b) ? (uint8_t)r : (uint8_t)((rc * r + gc * g + bc * b) >> 15);
        }
    }
    free(rgba);
    return CIIO_OK;
}

int ciio_png_exif(const uint8_t *data, size_t size, uint8_t *buf, size_t buflen, size_t *len, char *msg,
                  size_t msglen) {
    if (!data || !len) return fail(msg, msglen, CIIO_ERR_ARGUMENT, "null argument");
    *len = 0;
    struct spng_ihdr ihdr;
    int status = CIIO_OK;
    spng_ctx *ctx = png_open(data, size, &ihdr, msg, msglen, &status);
    if (!ctx) return status;
    struct spng_exif exif;
    memset(&exif, 0, sizeof exif);
    // Before any decoding, libspng has read the chunks up to the first IDAT only, as OpenCV's header pass does.
    int err = spng_get_exif(ctx, &exif);
    if (!err && exif.data) {
        *len = exif.length;
        if (buf && buflen) memcpy(buf, exif.data, exif.length < buflen ? exif.length : buflen);
    }
    spng_ctx_free(ctx);
    return CIIO_OK;
}


// The encoded PNG of a finished spng encode (err: its status so far), handed to the caller, or the error message.
static int png_take_buffer(spng_ctx *ctx, int err, uint8_t **out, size_t *outsize, char *msg, size_t msglen) {
    if (err) return fail(msg, msglen, CIIO_ERR_ENCODE, "PNG encoding failed: %s", spng_strerror(err));
    size_t len = 0;
    void *buf = spng_get_png_buffer(ctx, &len, &err);
    if (!buf || err) {
        free(buf);
        return fail(msg, msglen, CIIO_ERR_ENCODE, "PNG encoding failed: %s", spng_strerror(err));
    }
    *out = (uint8_t *)buf;
    *outsize = len;
    return CIIO_OK;
}
int ciio_png_encode(const uint8_t *pixels, int width, int height, int channels, int level, int style, uint8_t **out,
                    size_t *outsize, char *msg, size_t msglen) {
    if (!pixels || !out || !outsize) return fail(msg, msglen, CIIO_ERR_ARGUMENT, "null argument");
    if (channels != 1 && channels != 3) return fail(msg, msglen, CIIO_ERR_ARGUMENT, "channels must be 1 or 3");
    if (width <= 0 || height <= 0) return fail(msg, msglen, CIIO_ERR_ARGUMENT, "bad size %dx%d", width, height);
    if (level < 0) level = 0;
    if (level > 9) level = 9;
    size_t pixels_n = (size_t)width * (size_t)height;
    const uint8_t *src = pixels;
    uint8_t *rgb = NULL;
    if (channels == 3) {
        rgb = (uint8_t *)malloc(pixels_n * 3);
        if (!rgb) return fail(msg, msglen, CIIO_ERR_NOMEM, "cannot allocate %zu bytes", pixels_n * 3);
        for (size_t i = 0; i < pixels_n; i++) {
            rgb[3 * i] = pixels[3 * i + 2];
            rgb[3 * i + 1] = pixels[3 * i + 1];
            rgb[3 * i + 2] = pixels[3 * i];
        }
        src = rgb;
    }
    spng_ctx *ctx = spng_ctx_new(SPNG_CTX_ENCODER);
    if (!ctx) {
        free(rgb);
        return fail(msg, msglen, CIIO_ERR_NOMEM, "cannot create PNG encoder");
    }
    struct spng_ihdr ihdr;
    memset(&ihdr, 0, sizeof ihdr);
    ihdr.width = (uint32_t)width;
    ihdr.height = (uint32_t)height;
    ihdr.bit_depth = 8;
    ihdr.color_type = channels == 3 ? SPNG_COLOR_TYPE_TRUECOLOR : SPNG_COLOR_TYPE_GRAYSCALE;
    int err = spng_set_option(ctx, SPNG_ENCODE_TO_BUFFER, 1);
    if (!err) err = spng_set_option(ctx, SPNG_IMG_COMPRESSION_LEVEL, level);
    if (!err && style == CIIO_PNG_FLAT) err = spng_set_option(ctx, SPNG_FILTER_CHOICE, SPNG_FILTER_CHOICE_NONE);
    if (!err && style == CIIO_PNG_FLAT) err = spng_set_option(ctx, SPNG_IMG_COMPRESSION_STRATEGY, 3);   // Z_RLE
    if (!err) err = spng_set_ihdr(ctx, &ihdr);
    if (!err) err = spng_encode_image(ctx, src, pixels_n * (size_t)channels, SPNG_FMT_PNG, SPNG_ENCODE_FINALIZE);
    int status = png_take_buffer(ctx, err, out, outsize, msg, msglen);
    spng_ctx_free(ctx);
    free(rgb);
    return status;
}

void ciio_free_png(uint8_t *buffer) { free(buffer); }

int ciio_png_decode_labels(const uint8_t *data, size_t size, uint8_t *out, size_t outsize, int *indexed, char *msg,
                           size_t msglen) {
    if (!data || !out || !indexed) return fail(msg, msglen, CIIO_ERR_ARGUMENT, "null argument");
    struct spng_ihdr ihdr;
    int status = CIIO_OK;
    spng_ctx *ctx = png_open(data, size, &ihdr, msg, msglen, &status);
    if (!ctx) return status;
    int palette = ihdr.color_type == SPNG_COLOR_TYPE_INDEXED;
    if (!(palette || (ihdr.color_type == SPNG_COLOR_TYPE_GRAYSCALE && ihdr.bit_depth <= 8))) {
        spng_ctx_free(ctx);
        return fail(msg, msglen, CIIO_ERR_UNSUPPORTED,
                    "a label map is a palette or 8-bit grey PNG (colour type %d, %d bits)", ihdr.color_type,
                    ihdr.bit_depth);
    }
    size_t pixels = (size_t)ihdr.width * (size_t)ihdr.height;
    if (outsize < pixels) {
        spng_ctx_free(ctx);
        return fail(msg, msglen, CIIO_ERR_ARGUMENT, "output buffer too small for %ux%u", ihdr.width, ihdr.height);
    }
    // SPNG_FMT_PNG keeps the samples as stored: rows of packed 1/2/4-bit samples (each row starts on a byte), or
    // one byte a sample at depth 8.
    size_t len = 0;
    int err = spng_decoded_image_size(ctx, SPNG_FMT_PNG, &len);
    uint8_t *packed = err ? NULL : (uint8_t *)malloc(len ? len : 1);
    if (!err && !packed) {
        spng_ctx_free(ctx);
        return fail(msg, msglen, CIIO_ERR_NOMEM, "cannot allocate %zu bytes", len);
    }
    if (!err) err = spng_decode_image(ctx, packed, len, SPNG_FMT_PNG, 0);
    if (!err) err = spng_decode_chunks(ctx);
    spng_ctx_free(ctx);
    if (err) {
        free(packed);
        return fail(msg, msglen, png_classify(err), "%s", spng_strerror(err));
    }
    unsigned depth = ihdr.bit_depth;
    size_t row_bytes = ((size_t)ihdr.width * depth + 7) / 8;
    if (len < row_bytes * ihdr.height) {
        free(packed);
        return fail(msg, msglen, CIIO_ERR_CORRUPT, "decoded label map is shorter than its header says");
    }
    for (size_t y = 0; y < ihdr.height; y++) {
        const uint8_t *row = packed + y * row_bytes;
        uint8_t *dst = out + y * (size_t)ihdr.width;
        if (depth == 8) {
            memcpy(dst, row, ihdr.width);
            continue;
        }
        unsigned per_byte = 8 / depth, mask = (1u << depth) - 1;
        for (size_t x = 0; x < ihdr.width; x++) {
            unsigned shift = 8 - depth * (unsigned)(x % per_byte + 1);   // most significant sample first
            dst[x] = (uint8_t)((row[x / per_byte] >> shift) & mask);
        }
    }
    free(packed);
    *indexed = palette;
    return CIIO_OK;
}

int ciio_png_encode_indexed(const uint8_t *labels, int width, int height, const uint8_t *palette_rgb, int colours,
                            int level, uint8_t **out, size_t *outsize, char *msg, size_t msglen) {
    if (!labels || !palette_rgb || !out || !outsize) return fail(msg, msglen, CIIO_ERR_ARGUMENT, "null argument");
    if (width <= 0 || height <= 0) return fail(msg, msglen, CIIO_ERR_ARGUMENT, "bad size %dx%d", width, height);
    if (colours < 1 || colours > 256) return fail(msg, msglen, CIIO_ERR_ARGUMENT, "palette of %d colours", colours);
    size_t pixels_n = (size_t)width * (size_t)height;
    for (size_t i = 0; i < pixels_n; i++) {
        if (labels[i] >= colours)
            return fail(msg, msglen, CIIO_ERR_ARGUMENT, "label %d has no palette entry (%d colours)", labels[i],
                        colours);
    }
    if (level < 0) level = 0;
    if (level > 9) level = 9;
    spng_ctx *ctx = spng_ctx_new(SPNG_CTX_ENCODER);
    if (!ctx) return fail(msg, msglen, CIIO_ERR_NOMEM, "cannot create PNG encoder");
    struct spng_ihdr ihdr;
    memset(&ihdr, 0, sizeof ihdr);
    ihdr.width = (uint32_t)width;
    ihdr.height = (uint32_t)height;
    ihdr.bit_depth = 8;
    ihdr.color_type = SPNG_COLOR_TYPE_INDEXED;
    struct spng_plte plte;
    memset(&plte, 0, sizeof plte);
    plte.n_entries = (uint32_t)colours;
    for (int i = 0; i < colours; i++) {
        plte.entries[i].red = palette_rgb[3 * i];
        plte.entries[i].green = palette_rgb[3 * i + 1];
        plte.entries[i].blue = palette_rgb[3 * i + 2];
    }
    int err = spng_set_option(ctx, SPNG_ENCODE_TO_BUFFER, 1);
    if (!err) err = spng_set_option(ctx, SPNG_IMG_COMPRESSION_LEVEL, level);
    if (!err) err = spng_set_option(ctx, SPNG_FILTER_CHOICE, SPNG_FILTER_CHOICE_NONE);
    if (!err) err = spng_set_option(ctx, SPNG_IMG_COMPRESSION_STRATEGY, 3);   // Z_RLE: label maps are runs
    if (!err) err = spng_set_ihdr(ctx, &ihdr);
    if (!err) err = spng_set_plte(ctx, &plte);
    if (!err) err = spng_encode_image(ctx, labels, pixels_n, SPNG_FMT_PNG, SPNG_ENCODE_FINALIZE);
    int status = png_take_buffer(ctx, err, out, outsize, msg, msglen);
    spng_ctx_free(ctx);
    return status;
}
