/* Streaming reader for COCO keypoint results files: bytes -> preallocated columns.
 *
 * A results file is a JSON array of flat objects
 *     {"image_id": int, "category_id": int, "keypoints": [3K numbers], "score": number,
 *      "bbox": [4 numbers] (optional), other keys with number / array-of-number values}
 * This module parses exactly that shape, writing every number straight into caller-owned buffers
 * (numpy arrays, through the buffer protocol), so no Python object is made per number or per
 * record. It is a *fast path only*: on anything else (a string or boolean value, a duplicate or
 * missing key, a wrong length, a non-finite or out-of-range number, a negative score, escapes in
 * a key, nesting) it stops and says "irregular"; the caller then parses the file with the
 * validating Python reader, which either accepts it or raises an error naming record and field.
 * Therefore this code never decides what an error is, and the numbers it returns are the same
 * doubles Python's float() gives (correctly rounded: Clinger's exact fast path, else strtod).
 *
 * The parser is resumable at record boundaries, so the caller can feed the file in chunks and
 * keep memory bounded: parse() returns how many bytes it consumed (always ending after a complete
 * record or at the closing bracket) and the grammar state to resume with.
 *
 * The GIL is released while parsing.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Grammar states between records. */
#define ST_START 0      /* expect '[' */
#define ST_FIRST 1      /* after '[': expect a record or ']' */
#define ST_NEXT 2       /* after a record: expect ',' or ']' */
#define ST_AFTER_COMMA 3 /* after ',': expect a record */
#define ST_DONE 4       /* after ']': only whitespace */

/* Return codes of the record parser. */
#define R_OK 0
#define R_MORE 1      /* ran out of bytes inside the record */
#define R_IRREGULAR 2 /* not the regular shape: take the validating path */

typedef struct {
    const char *p;   /* cursor */
    const char *end; /* one past the last byte available */
} Cursor;

static const double POW10[23] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                 1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                                 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

static inline int is_ws(char c) { return c == ' ' || c == '\n' || c == '\r' || c == '\t'; }

static inline void skip_ws(Cursor *c) {
    while (c->p < c->end && is_ws(*c->p)) c->p++;
}

/* Parse one JSON number at c->p. Returns R_OK (value in *out; *is_int set when the literal has
 * no fraction or exponent, *ival then holds it if it fits int64), R_MORE or R_IRREGULAR.
 * A number touching the end of the available bytes is R_MORE: it may continue in the next
 * chunk (the caller knows whether more bytes exist). */
static int parse_number(Cursor *c, double *out, int *is_int, int64_t *ival, int *int_ok) {
    const char *s = c->p, *p = c->p, *e = c->end;
    int neg = 0;
    uint64_t mant = 0;
    int digits = 0;       /* significant digits accumulated into mant */
    int dropped = 0;      /* digits beyond 19 (integer part) that were not accumulated */
    int frac_digits = 0;  /* fraction digits accumulated into mant */
    int exact = 1;        /* every digit went into mant */
    long exp10 = 0;
    if (p < e && *p == '-') { neg = 1; p++; }
    if (p >= e) return R_MORE;
    if (*p == '0') {
        p++;
        if (p < e && *p >= '0' && *p <= '9') return R_IRREGULAR; /* leading zero */
    } else if (*p >= '1' && *p <= '9') {
        while (p < e && *p >= '0' && *p <= '9') {
            if (digits < 19) { mant = mant * 10 + (uint64_t)(*p - '0'); digits++; }
            else { dropped++; exact = 0; }
            p++;
        }
    } else {
        return R_IRREGULAR; /* not a number: string, true/false/null, '+', '.', ... */
    }
    *is_int = 1;
    if (p < e && *p == '.') {
        *is_int = 0;
        p++;
        if (p >= e) return R_MORE;
        if (!(*p >= '0' && *p <= '9')) return R_IRREGULAR;
        while (p < e && *p >= '0' && *p <= '9') {
            if (digits < 19) {
                mant = mant * 10 + (uint64_t)(*p - '0');
                if (mant != 0) digits++; /* leading zeros of the fraction are not significant */
                frac_digits++;
            } else {
                exact = 0;
            }
            p++;
        }
    }
    if (p < e && (*p == 'e' || *p == 'E')) {
        *is_int = 0;
        p++;
        int eneg = 0;
        if (p < e && (*p == '+' || *p == '-')) { eneg = (*p == '-'); p++; }
        if (p >= e) return R_MORE;
        if (!(*p >= '0' && *p <= '9')) return R_IRREGULAR;
        long ev = 0;
        while (p < e && *p >= '0' && *p <= '9') {
            if (ev < 100000) ev = ev * 10 + (*p - '0');
            p++;
        }
        exp10 = eneg ? -ev : ev;
    }
    if (p >= e) return R_MORE; /* the literal may go on in the next chunk */
    c->p = p;
    *int_ok = 0;
    if (*is_int) {
        /* integers: exact int64 when at most 18 digits, or 19 that do not overflow */
        if (dropped == 0 && (digits < 19 || mant <= (uint64_t)INT64_MAX + (uint64_t)neg)) {
            *int_ok = 1;
            *ival = neg ? (int64_t)(0 - mant) : (int64_t)mant;
        }
    }
    long e10 = exp10 - frac_digits + dropped;
    if (exact && mant <= (1ULL << 53) && e10 >= -22 && e10 <= 22) {
        /* Clinger's fast path: both operands exact doubles, one correctly rounded operation. */
        double v = (double)mant;
        v = e10 < 0 ? v / POW10[-e10] : v * POW10[e10];
        *out = neg ? -v : v;
        return R_OK;
    }
    if (exact && mant == 0) { *out = neg ? -0.0 : 0.0; return R_OK; }
    /* General case: strtod (correctly rounded in glibc and musl) on a NUL-terminated copy. */
    size_t len = (size_t)(p - s);
    if (len > 400) return R_IRREGULAR;
    char buf[408];
    memcpy(buf, s, len);
    buf[len] = '\0';
    char *endp = NULL;
    double v = strtod(buf, &endp);
    if (endp != buf + len) return R_IRREGULAR;
    *out = v;
    return R_OK;
}

/* Compare the key at c->p (just after the opening quote) with known names; no escapes. */
enum { K_IMAGE_ID, K_CATEGORY_ID, K_KEYPOINTS, K_SCORE, K_BBOX, K_OTHER };

typedef struct {
    const char *name[8];
    size_t len[8];
    int n;
} OtherKeys;

static int parse_key(Cursor *c, int *key, OtherKeys *others) {
    const char *p = c->p, *e = c->end;
    const char *q = memchr(p, '"', (size_t)(e - p));
    if (q == NULL) return R_MORE;
    size_t len = (size_t)(q - p);
    if (memchr(p, '\\', len) != NULL) return R_IRREGULAR;
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)p[i] < 0x20) return R_IRREGULAR;
    if (len == 8 && memcmp(p, "image_id", 8) == 0) *key = K_IMAGE_ID;
    else if (len == 11 && memcmp(p, "category_id", 11) == 0) *key = K_CATEGORY_ID;
    else if (len == 9 && memcmp(p, "keypoints", 9) == 0) *key = K_KEYPOINTS;
    else if (len == 5 && memcmp(p, "score", 5) == 0) *key = K_SCORE;
    else if (len == 4 && memcmp(p, "bbox", 4) == 0) *key = K_BBOX;
    else {
        /* Another key: printable ASCII only (the validating path decides about the rest), at
         * most 8 of them, none twice. */
        for (size_t i = 0; i < len; i++)
            if ((unsigned char)p[i] > 0x7e) return R_IRREGULAR;
        if (others->n >= 8) return R_IRREGULAR;
        for (int i = 0; i < others->n; i++)
            if (others->len[i] == len && memcmp(others->name[i], p, len) == 0) return R_IRREGULAR;
        others->name[others->n] = p;
        others->len[others->n] = len;
        others->n++;
        *key = K_OTHER;
    }
    c->p = q + 1;
    return R_OK;
}

/* A JSON array of exactly `n` finite numbers written to out (or of any length, skipped, when out
 * is NULL and n < 0). */
static int parse_number_array(Cursor *c, double *out, Py_ssize_t n) {
    if (c->p >= c->end) return R_MORE;
    if (*c->p != '[') return R_IRREGULAR;
    c->p++;
    skip_ws(c);
    if (c->p >= c->end) return R_MORE;
    Py_ssize_t i = 0;
    if (*c->p == ']') {
        c->p++;
        return (n < 0 || n == 0) ? R_OK : R_IRREGULAR;
    }
    for (;;) {
        double v;
        int is_int, int_ok;
        int64_t iv;
        int r = parse_number(c, &v, &is_int, &iv, &int_ok);
        if (r != R_OK) return r;
        if (!isfinite(v)) return R_IRREGULAR;
        if (n >= 0) {
            if (i >= n) return R_IRREGULAR;
            out[i] = v;
        }
        i++;
        skip_ws(c);
        if (c->p >= c->end) return R_MORE;
        if (*c->p == ',') {
            c->p++;
            skip_ws(c);
            continue;
        }
        if (*c->p == ']') {
            c->p++;
            break;
        }
        return R_IRREGULAR;
    }
    return (n < 0 || i == n) ? R_OK : R_IRREGULAR;
}

typedef struct {
    double *xy;      /* (cap, K, 2) */
    double *ks;      /* (cap, K) keypoint scores, or NULL: not kept */
    int64_t *img;    /* (cap,) */
    int64_t *cat;    /* (cap,) */
    double *score;   /* (cap,) */
    double *bbox;    /* (cap, 4) */
    uint8_t *has_bbox; /* (cap,) */
    Py_ssize_t cap;
    Py_ssize_t k3;   /* 3K */
} Columns;

#define MAX_K3 (3 * 4096)

/* One record at c->p ('{' expected), written to row `row`. */
static int parse_record(Cursor *c, Columns *cols, Py_ssize_t row) {
    if (c->p >= c->end) return R_MORE;
    if (*c->p != '{') return R_IRREGULAR;
    if (row >= cols->cap) return R_IRREGULAR;
    c->p++;
    unsigned seen = 0;
    double bbox_tmp[4];
    OtherKeys others;
    others.n = 0;
    for (;;) {
        skip_ws(c);
        if (c->p >= c->end) return R_MORE;
        if (*c->p == '}') {
            if (seen == 0) return R_IRREGULAR; /* {} */
            c->p++;
            break;
        }
        if (*c->p != '"') return R_IRREGULAR;
        c->p++;
        int key, r;
        r = parse_key(c, &key, &others);
        if (r != R_OK) return r;
        if (key != K_OTHER) {
            if (seen & (1u << key)) return R_IRREGULAR; /* duplicate key */
            seen |= 1u << key;
        }
        skip_ws(c);
        if (c->p >= c->end) return R_MORE;
        if (*c->p != ':') return R_IRREGULAR;
        c->p++;
        skip_ws(c);
        if (c->p >= c->end) return R_MORE;
        double v;
        int is_int, int_ok;
        int64_t iv;
        switch (key) {
        case K_IMAGE_ID:
        case K_CATEGORY_ID:
            r = parse_number(c, &v, &is_int, &iv, &int_ok);
            if (r != R_OK) return r;
            if (!is_int || !int_ok) return R_IRREGULAR;
            if (key == K_IMAGE_ID) cols->img[row] = iv;
            else cols->cat[row] = iv;
            break;
        case K_SCORE:
            r = parse_number(c, &v, &is_int, &iv, &int_ok);
            if (r != R_OK) return r;
            if (!isfinite(v) || v < 0) return R_IRREGULAR; /* -0.0 is not < 0: accepted, as Python */
            cols->score[row] = v;
            break;
        case K_KEYPOINTS: {
            double tmp[MAX_K3];
            r = parse_number_array(c, tmp, cols->k3);
            if (r != R_OK) return r;
            Py_ssize_t k = cols->k3 / 3;
            double *xy = cols->xy + row * 2 * k;
            for (Py_ssize_t j = 0; j < k; j++) {
                xy[2 * j] = tmp[3 * j];
                xy[2 * j + 1] = tmp[3 * j + 1];
            }
            if (cols->ks != NULL) {
                double *ks = cols->ks + row * k;
                for (Py_ssize_t j = 0; j < k; j++) ks[j] = tmp[3 * j + 2];
            }
            break;
        }
        case K_BBOX:
            r = parse_number_array(c, bbox_tmp, 4);
            if (r != R_OK) return r;
            break;
        default: /* another key: a number or an array of numbers, skipped */
            if (*c->p == '[') {
                r = parse_number_array(c, NULL, -1);
                if (r != R_OK) return r;
            } else {
                r = parse_number(c, &v, &is_int, &iv, &int_ok);
                if (r != R_OK) return r;
                if (!isfinite(v)) return R_IRREGULAR;
            }
            break;
        }
        skip_ws(c);
        if (c->p >= c->end) return R_MORE;
        if (*c->p == ',') {
            c->p++;
            continue;
        }
        if (*c->p == '}') {
            c->p++;
            break;
        }
        return R_IRREGULAR;
    }
    const unsigned need = (1u << K_IMAGE_ID) | (1u << K_CATEGORY_ID) | (1u << K_KEYPOINTS) |
                          (1u << K_SCORE);
    if ((seen & need) != need) return R_IRREGULAR;
    if (seen & (1u << K_BBOX)) {
        memcpy(cols->bbox + 4 * row, bbox_tmp, sizeof bbox_tmp);
        cols->has_bbox[row] = 1;
    } else {
        double nan = NAN;
        for (int j = 0; j < 4; j++) cols->bbox[4 * row + j] = nan;
        cols->has_bbox[row] = 0;
    }
    return R_OK;
}

/* Records from c->p on (the grammar between records; see parse()), rows from *row on; returns
 * the status (0 finished, 1 needs more, 2 irregular) and sets *committed to the end of the last
 * complete record. No Python API: callable without the GIL. */
static int parse_records(Cursor *cp, int *state_p, Py_ssize_t *row_p, int final, int end_state,
                         Columns *colsp, const char **committed_p) {
    Cursor c = *cp;
    int state = *state_p, status = 1;
    Py_ssize_t row = *row_p;
    const char *committed = *committed_p;
    Columns cols = *colsp;
    for (;;) {
        skip_ws(&c);
        if (c.p >= c.end) {
            committed = c.p;
            status = (final ? (state == end_state ? 0 : 2) : 1);
            break;
        }
        if (state == ST_DONE) { status = 2; break; } /* bytes after the closing bracket */
        if (state == ST_START) {
            if (*c.p != '[') { status = 2; break; }
            c.p++;
            state = ST_FIRST;
            committed = c.p;
            continue;
        }
        if (state == ST_NEXT) {
            if (*c.p == ',') { c.p++; state = ST_AFTER_COMMA; committed = c.p; continue; }
            if (*c.p == ']') { c.p++; state = ST_DONE; committed = c.p; continue; }
            status = 2;
            break;
        }
        if (state == ST_FIRST && *c.p == ']') { c.p++; state = ST_DONE; committed = c.p; continue; }
        /* ST_FIRST or ST_AFTER_COMMA: a record */
        int r = parse_record(&c, &cols, row);
        if (r == R_OK) {
            row++;
            state = ST_NEXT;
            committed = c.p;
            continue;
        }
        status = (r == R_MORE && !final) ? 1 : 2;
        break;
    }
    *cp = c;
    *state_p = state;
    *row_p = row;
    *committed_p = committed;
    return status;
}

static int get_buffer(PyObject *obj, Py_buffer *view, Py_ssize_t itemsize, const char *name) {
    if (PyObject_GetBuffer(obj, view, PyBUF_WRITABLE | PyBUF_C_CONTIGUOUS) < 0) return -1;
    if (view->itemsize != itemsize) {
        PyErr_Format(PyExc_ValueError, "%s: item size %zd, expected %zd", name, view->itemsize,
                     itemsize);
        PyBuffer_Release(view);
        return -1;
    }
    return 0;
}

PyDoc_STRVAR(parse_doc,
"parse(data, start, state, row, final, k3, xy, ks, img, cat, score, bbox, has_bbox[, end_state])\n"
"    -> (status, consumed, state, rows)\n\n"
"Parse records from data[start:], writing rows from `row` on into the column buffers\n"
"(xy: K*2 doubles a row; ks: K doubles a row, or None to drop the keypoint scores).\n"
"status: 0 finished (final chunk, ending in end_state: by default 4, after the closing bracket;\n"
"3, after a comma, for a piece of the file that ends where the next record begins), 1 needs more\n"
"data (consumed: bytes up to the end of the last complete record), 2 irregular (take the\n"
"validating path).");

static PyObject *parse(PyObject *self, PyObject *args) {
    Py_buffer data;
    Py_ssize_t start, row, k3;
    int state, final, end_state = ST_DONE;
    PyObject *o_kp, *o_ks, *o_img, *o_cat, *o_score, *o_bbox, *o_has;
    if (!PyArg_ParseTuple(args, "y*nininOOOOOOO|i", &data, &start, &state, &row, &final, &k3,
                          &o_kp, &o_ks, &o_img, &o_cat, &o_score, &o_bbox, &o_has, &end_state))
        return NULL;
    Py_buffer b_kp, b_ks, b_img, b_cat, b_score, b_bbox, b_has;
    int got = 0, have_ks = 0;
    PyObject *result = NULL;
    if (k3 <= 0 || k3 % 3 != 0 || k3 > MAX_K3) {
        PyErr_SetString(PyExc_ValueError, "k3 must be 3K with 1 <= K <= 4096");
        PyBuffer_Release(&data);
        return NULL;
    }
    if (o_ks != Py_None) {
        if (get_buffer(o_ks, &b_ks, 8, "ks") < 0) { PyBuffer_Release(&data); return NULL; }
        have_ks = 1;
    }
    if (get_buffer(o_kp, &b_kp, 8, "xy") < 0) goto out; got = 1;
    if (get_buffer(o_img, &b_img, 8, "img") < 0) goto out; got = 2;
    if (get_buffer(o_cat, &b_cat, 8, "cat") < 0) goto out; got = 3;
    if (get_buffer(o_score, &b_score, 8, "score") < 0) goto out; got = 4;
    if (get_buffer(o_bbox, &b_bbox, 8, "bbox") < 0) goto out; got = 5;
    if (get_buffer(o_has, &b_has, 1, "has_bbox") < 0) goto out; got = 6;
    if (k3 <= 0 || start < 0 || start > data.len || row < 0) {
        PyErr_SetString(PyExc_ValueError, "bad arguments");
        goto out;
    }
    Columns cols;
    cols.k3 = k3;
    cols.cap = b_img.len / 8;
    if (b_kp.len / 8 / (2 * (k3 / 3)) < cols.cap) cols.cap = b_kp.len / 8 / (2 * (k3 / 3));
    if (have_ks && b_ks.len / 8 / (k3 / 3) < cols.cap) cols.cap = b_ks.len / 8 / (k3 / 3);
    if (b_cat.len / 8 < cols.cap) cols.cap = b_cat.len / 8;
    if (b_score.len / 8 < cols.cap) cols.cap = b_score.len / 8;
    if (b_bbox.len / 32 < cols.cap) cols.cap = b_bbox.len / 32;
    if (b_has.len < cols.cap) cols.cap = b_has.len;
    cols.xy = (double *)b_kp.buf;
    cols.ks = have_ks ? (double *)b_ks.buf : NULL;
    cols.img = (int64_t *)b_img.buf;
    cols.cat = (int64_t *)b_cat.buf;
    cols.score = (double *)b_score.buf;
    cols.bbox = (double *)b_bbox.buf;
    cols.has_bbox = (uint8_t *)b_has.buf;

    int status = 1;
    Cursor c;
    c.p = (const char *)data.buf + start;
    c.end = (const char *)data.buf + data.len;
    const char *committed = c.p;
    Py_BEGIN_ALLOW_THREADS
    status = parse_records(&c, &state, &row, final, end_state, &cols, &committed);
    Py_END_ALLOW_THREADS
    result = Py_BuildValue("(inin)", status, (Py_ssize_t)(committed - (const char *)data.buf),
                           state, row);
out:
    if (got >= 6) PyBuffer_Release(&b_has);
    if (got >= 5) PyBuffer_Release(&b_bbox);
    if (got >= 4) PyBuffer_Release(&b_score);
    if (got >= 3) PyBuffer_Release(&b_cat);
    if (got >= 2) PyBuffer_Release(&b_img);
    if (got >= 1) PyBuffer_Release(&b_kp);
    if (have_ks) PyBuffer_Release(&b_ks);
    PyBuffer_Release(&data);
    return result;
}

/* ------------------------------------------------------------------------------------------
 * Ground truth: a COCO keypoint file {"images": [...], "annotations": [...], "categories": [...],
 * other keys}. The file is held in memory (ground truth is small next to results); scan_top()
 * finds the byte span of each top-level value, parse_images() and parse_annotations() turn the
 * two big arrays into columns, and Python parses the rest (categories, a few records) itself.
 * The same contract as above: anything irregular -> the validating Python reader.
 */

#define MAX_DEPTH 256

/* Skip one string at c->p (opening quote); valid UTF-8, no raw control characters. If `out`
 * is given, the string's raw bytes (without quotes) are stored there; `has_escape` tells
 * whether a backslash occurred (then the raw bytes are not the value). */
static int skip_string(Cursor *c, const char **out, size_t *len, int *has_escape) {
    const unsigned char *p = (const unsigned char *)c->p + 1, *e = (const unsigned char *)c->end;
    const unsigned char *s = p;
    int esc = 0;
    while (p < e) {
        unsigned char ch = *p;
        if (ch == '"') {
            if (out) { *out = (const char *)s; *len = (size_t)(p - s); }
            if (has_escape) *has_escape = esc;
            c->p = (const char *)p + 1;
            return R_OK;
        }
        if (ch < 0x20) return R_IRREGULAR;
        if (ch == '\\') {
            esc = 1;
            if (p + 1 >= e) return R_MORE;
            unsigned char n = p[1];
            if (n == 'u') {
                if (p + 6 > e) return R_MORE;
                for (int i = 2; i < 6; i++) {
                    unsigned char h = p[i];
                    if (!((h >= '0' && h <= '9') || (h >= 'a' && h <= 'f') || (h >= 'A' && h <= 'F')))
                        return R_IRREGULAR;
                }
                /* surrogates: leave their pairing to the validating reader */
                if ((p[2] == 'd' || p[2] == 'D') && p[3] >= '8') return R_IRREGULAR;
                p += 6;
                continue;
            }
            if (strchr("\"\\/bfnrt", n) == NULL || n == 0) return R_IRREGULAR;
            p += 2;
            continue;
        }
        if (ch < 0x80) { p++; continue; }
        /* UTF-8 multi-byte sequence, shortest form, no surrogates, <= U+10FFFF */
        int need;
        unsigned int cp;
        if (ch >= 0xC2 && ch <= 0xDF) { need = 1; cp = ch & 0x1F; }
        else if (ch >= 0xE0 && ch <= 0xEF) { need = 2; cp = ch & 0x0F; }
        else if (ch >= 0xF0 && ch <= 0xF4) { need = 3; cp = ch & 0x07; }
        else return R_IRREGULAR;
        if (p + need >= e) return R_MORE;
        for (int i = 1; i <= need; i++) {
            if ((p[i] & 0xC0) != 0x80) return R_IRREGULAR;
            cp = (cp << 6) | (p[i] & 0x3F);
        }
        if ((need == 2 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) ||
            (need == 3 && (cp < 0x10000 || cp > 0x10FFFF)))
            return R_IRREGULAR;
        p += need + 1;
    }
    return R_MORE;
}

static int match_literal(Cursor *c, const char *lit) {
    size_t n = strlen(lit);
    if ((size_t)(c->end - c->p) < n) return R_MORE;
    if (memcmp(c->p, lit, n) != 0) return R_IRREGULAR;
    c->p += n;
    return R_OK;
}

/* Skip any JSON value. Keys of every object inside are checked for duplicates (raw bytes; a
 * key with an escape sequence is irregular, since two spellings of one key would differ). */
#define MAX_SKIPPED_KEYS 4096

static int skip_value(Cursor *c) {
    int depth = 0;
    char stack[MAX_DEPTH];
    int key_base[MAX_DEPTH]; /* first key index of each open object */
    const char *keys[MAX_SKIPPED_KEYS];
    size_t key_lens[MAX_SKIPPED_KEYS];
    int n_keys = 0;
    for (;;) {
        skip_ws(c);
        if (c->p >= c->end) return R_MORE;
        char ch = *c->p;
        int r;
        if (ch == '{' || ch == '[') {
            if (depth >= MAX_DEPTH) return R_IRREGULAR;
            key_base[depth] = n_keys;
            stack[depth++] = ch;
            c->p++;
            skip_ws(c);
            if (c->p >= c->end) return R_MORE;
            if ((ch == '{' && *c->p == '}') || (ch == '[' && *c->p == ']')) {
                c->p++;
                depth--;
                goto after_value;
            }
            if (ch == '{') goto object_key;
            continue;
        }
        if (ch == '"') r = skip_string(c, NULL, NULL, NULL);
        else if (ch == 't') r = match_literal(c, "true");
        else if (ch == 'f') r = match_literal(c, "false");
        else if (ch == 'n') r = match_literal(c, "null");
        else {
            double v;
            int is_int, int_ok;
            int64_t iv;
            r = parse_number(c, &v, &is_int, &iv, &int_ok);
            if (r == R_OK && !isfinite(v)) r = R_IRREGULAR;
        }
        if (r != R_OK) return r;
    after_value:
        for (;;) {
            if (depth == 0) return R_OK;
            skip_ws(c);
            if (c->p >= c->end) return R_MORE;
            char top = stack[depth - 1];
            if (*c->p == ',') {
                c->p++;
                if (top == '{') goto object_key;
                break; /* next array element */
            }
            if ((top == '{' && *c->p == '}') || (top == '[' && *c->p == ']')) {
                c->p++;
                depth--;
                n_keys = key_base[depth]; /* this object's keys are done */
                continue;
            }
            return R_IRREGULAR;
        }
        continue;
    object_key:
        skip_ws(c);
        if (c->p >= c->end) return R_MORE;
        if (*c->p != '"') return R_IRREGULAR;
        {
            const char *k;
            size_t klen;
            int esc;
            r = skip_string(c, &k, &klen, &esc);
            if (r != R_OK) return r;
            if (esc || n_keys >= MAX_SKIPPED_KEYS) return R_IRREGULAR;
            for (int i = key_base[depth - 1]; i < n_keys; i++)
                if (key_lens[i] == klen && memcmp(keys[i], k, klen) == 0) return R_IRREGULAR;
            keys[n_keys] = k;
            key_lens[n_keys] = klen;
            n_keys++;
        }
        skip_ws(c);
        if (c->p >= c->end) return R_MORE;
        if (*c->p != ':') return R_IRREGULAR;
        c->p++;
    }
}

/* A JSON integer literal into *out (fits int64, no fraction/exponent). */
static int parse_int(Cursor *c, int64_t *out) {
    double v;
    int is_int, int_ok;
    int64_t iv;
    int r = parse_number(c, &v, &is_int, &iv, &int_ok);
    if (r != R_OK) return r;
    if (!is_int || !int_ok) return R_IRREGULAR;
    *out = iv;
    return R_OK;
}

/* Iterate the members of an object at c->p: calls `member` for each key (raw bytes, no escapes
 * allowed in keys), with c->p on the value. Rejects duplicate keys (any key, by raw bytes). */
typedef int (*member_fn)(Cursor *c, const char *key, size_t len, void *ctx);

#define MAX_MEMBERS 64

static int for_each_member(Cursor *c, member_fn member, void *ctx) {
    skip_ws(c);
    if (c->p >= c->end) return R_MORE;
    if (*c->p != '{') return R_IRREGULAR;
    c->p++;
    const char *keys[MAX_MEMBERS];
    size_t lens[MAX_MEMBERS];
    int n = 0;
    skip_ws(c);
    if (c->p >= c->end) return R_MORE;
    if (*c->p == '}') { c->p++; return R_OK; }
    for (;;) {
        skip_ws(c);
        if (c->p >= c->end) return R_MORE;
        if (*c->p != '"') return R_IRREGULAR;
        const char *k;
        size_t len;
        int esc, r;
        r = skip_string(c, &k, &len, &esc);
        if (r != R_OK) return r;
        if (esc) return R_IRREGULAR;
        if (n >= MAX_MEMBERS) return R_IRREGULAR;
        for (int i = 0; i < n; i++)
            if (lens[i] == len && memcmp(keys[i], k, len) == 0) return R_IRREGULAR;
        keys[n] = k;
        lens[n] = len;
        n++;
        skip_ws(c);
        if (c->p >= c->end) return R_MORE;
        if (*c->p != ':') return R_IRREGULAR;
        c->p++;
        skip_ws(c);
        if (c->p >= c->end) return R_MORE;
        r = member(c, k, len, ctx);
        if (r != R_OK) return r;
        skip_ws(c);
        if (c->p >= c->end) return R_MORE;
        if (*c->p == ',') { c->p++; continue; }
        if (*c->p == '}') { c->p++; return R_OK; }
        return R_IRREGULAR;
    }
}

/* Iterate the elements of an array at c->p (each must be an object handled by `element`). */
typedef int (*element_fn)(Cursor *c, Py_ssize_t index, void *ctx);

static int for_each_element(Cursor *c, element_fn element, void *ctx, Py_ssize_t *count) {
    skip_ws(c);
    if (c->p >= c->end) return R_MORE;
    if (*c->p != '[') return R_IRREGULAR;
    c->p++;
    Py_ssize_t i = 0;
    skip_ws(c);
    if (c->p >= c->end) return R_MORE;
    if (*c->p == ']') { c->p++; *count = 0; return R_OK; }
    for (;;) {
        int r = element(c, i, ctx);
        if (r != R_OK) return r;
        i++;
        skip_ws(c);
        if (c->p >= c->end) return R_MORE;
        if (*c->p == ',') { c->p++; continue; }
        if (*c->p == ']') { c->p++; *count = i; return R_OK; }
        return R_IRREGULAR;
    }
}

#define KEYIS(lit) (len == sizeof(lit) - 1 && memcmp(key, lit, sizeof(lit) - 1) == 0)

/* ---- top level */
typedef struct {
    Py_ssize_t span[3][2]; /* images, annotations, categories: [start, end) */
    const char *base;
} TopCtx;

/* Skip an array or object by its structure alone: strings (escape-aware) and bracket depth, no
 * validation. Only for the "images" and "annotations" values, which parse_images() and
 * parse_annotations() then parse completely, requiring the whole span to be one valid array:
 * whatever this skip returns for malformed bytes, those parsers refuse them. */
static int skip_container_fast(Cursor *c) {
    const char *p = c->p, *e = c->end;
    if (p >= e) return R_MORE;
    if (*p != '[' && *p != '{') return skip_value(c);
    Py_ssize_t depth = 0;
    while (p < e) {
        const char ch = *p;
        if (ch == '"') {
            const char *s = p + 1;
            for (;;) {
                const char *q = memchr(s, '"', (size_t)(e - s));
                if (q == NULL) return R_MORE;
                const char *b = q;
                while (b > s && b[-1] == '\\') b--;
                s = q + 1;
                if (((q - b) & 1) == 0) break; /* not escaped */
            }
            p = s;
            continue;
        }
        if (ch == '[' || ch == '{') {
            depth++;
        } else if (ch == ']' || ch == '}') {
            if (--depth == 0) {
                c->p = p + 1;
                return R_OK;
            }
        }
        p++;
    }
    return R_MORE;
}

static int top_member(Cursor *c, const char *key, size_t len, void *vctx) {
    TopCtx *ctx = vctx;
    int which = KEYIS("images") ? 0 : KEYIS("annotations") ? 1 : KEYIS("categories") ? 2 : -1;
    const char *start = c->p;
    int r = (which == 0 || which == 1) ? skip_container_fast(c) : skip_value(c);
    if (r != R_OK) return r;
    if (which >= 0) {
        ctx->span[which][0] = start - ctx->base;
        ctx->span[which][1] = c->p - ctx->base;
    }
    return R_OK;
}

PyDoc_STRVAR(scan_top_doc,
"scan_top(data) -> ((images_start, images_end), (annotations_...), (categories_...)) or None\n\n"
"Byte spans of the three arrays of a ground-truth object (-1 where a key is absent); None when\n"
"the document is irregular (not one object, duplicate keys, invalid JSON, ...).");

static PyObject *scan_top(PyObject *self, PyObject *args) {
    Py_buffer data;
    if (!PyArg_ParseTuple(args, "y*", &data)) return NULL;
    TopCtx ctx;
    for (int i = 0; i < 3; i++) ctx.span[i][0] = ctx.span[i][1] = -1;
    ctx.base = data.buf;
    Cursor c = {data.buf, (const char *)data.buf + data.len};
    int r;
    Py_BEGIN_ALLOW_THREADS
    r = for_each_member(&c, top_member, &ctx);
    if (r == R_OK) {
        skip_ws(&c);
        if (c.p != c.end) r = R_IRREGULAR;
    }
    Py_END_ALLOW_THREADS
    PyBuffer_Release(&data);
    if (r != R_OK) Py_RETURN_NONE;
    return Py_BuildValue("((nn)(nn)(nn))", ctx.span[0][0], ctx.span[0][1], ctx.span[1][0],
                         ctx.span[1][1], ctx.span[2][0], ctx.span[2][1]);
}

/* ---- images: id (int, required), file_name (string without escapes), width, height (int),
 * crowdIndex (finite number >= 0); other keys skipped. */
typedef struct {
    int64_t *id, *width, *height, *name_start, *name_len;
    double *crowd;
    Py_ssize_t cap;
    const char *base;
    Py_ssize_t row;
    unsigned seen;
} ImgCtx;

static int image_member(Cursor *c, const char *key, size_t len, void *vctx) {
    ImgCtx *x = vctx;
    Py_ssize_t i = x->row;
    if (KEYIS("id")) { x->seen |= 1; return parse_int(c, &x->id[i]); }
    if (KEYIS("width")) return parse_int(c, &x->width[i]);
    if (KEYIS("height")) return parse_int(c, &x->height[i]);
    if (KEYIS("file_name")) {
        if (*c->p != '"') return R_IRREGULAR;
        const char *s;
        size_t n;
        int esc;
        int r = skip_string(c, &s, &n, &esc);
        if (r != R_OK) return r;
        if (esc) return R_IRREGULAR;
        x->name_start[i] = s - x->base;
        x->name_len[i] = (int64_t)n;
        return R_OK;
    }
    if (KEYIS("crowdIndex")) {
        double v;
        int is_int, int_ok;
        int64_t iv;
        int r = parse_number(c, &v, &is_int, &iv, &int_ok);
        if (r != R_OK) return r;
        if (!isfinite(v) || v < 0) return R_IRREGULAR;
        x->crowd[i] = v;
        return R_OK;
    }
    return skip_value(c);
}

static int image_element(Cursor *c, Py_ssize_t index, void *vctx) {
    ImgCtx *x = vctx;
    if (index >= x->cap) return R_IRREGULAR;
    x->row = index;
    x->seen = 0;
    x->width[index] = 0;
    x->height[index] = 0;
    x->name_start[index] = 0;
    x->name_len[index] = 0;
    x->crowd[index] = NAN;
    int r = for_each_member(c, image_member, x);
    if (r != R_OK) return r;
    return (x->seen & 1) ? R_OK : R_IRREGULAR;
}

/* ---- annotations: id, image_id, category_id (int, required), keypoints (3K numbers, required),
 * bbox (4 numbers), area (finite number >= 0), iscrowd (0 or 1), num_keypoints (int >= 0);
 * other keys (segmentation, ...) skipped. */
typedef struct {
    int64_t *id, *image_id, *category_id, *num_kp;
    double *kp, *bbox, *area;
    uint8_t *iscrowd, *has_nk;
    Py_ssize_t cap, k3, row;
    unsigned seen;
} AnnCtx;

static int ann_member(Cursor *c, const char *key, size_t len, void *vctx) {
    AnnCtx *x = vctx;
    Py_ssize_t i = x->row;
    int r;
    int64_t iv;
    if (KEYIS("id")) { x->seen |= 1; return parse_int(c, &x->id[i]); }
    if (KEYIS("image_id")) { x->seen |= 2; return parse_int(c, &x->image_id[i]); }
    if (KEYIS("category_id")) { x->seen |= 4; return parse_int(c, &x->category_id[i]); }
    if (KEYIS("keypoints")) { x->seen |= 8; return parse_number_array(c, x->kp + i * x->k3, x->k3); }
    if (KEYIS("bbox")) return parse_number_array(c, x->bbox + 4 * i, 4);
    if (KEYIS("area")) {
        double v;
        int is_int, int_ok;
        r = parse_number(c, &v, &is_int, &iv, &int_ok);
        if (r != R_OK) return r;
        if (!isfinite(v) || v < 0) return R_IRREGULAR;
        x->area[i] = v;
        return R_OK;
    }
    if (KEYIS("iscrowd")) {
        r = parse_int(c, &iv);
        if (r != R_OK) return r;
        if (iv != 0 && iv != 1) return R_IRREGULAR;
        x->iscrowd[i] = (uint8_t)iv;
        return R_OK;
    }
    if (KEYIS("num_keypoints")) {
        r = parse_int(c, &iv);
        if (r != R_OK) return r;
        if (iv < 0) return R_IRREGULAR;
        x->num_kp[i] = iv;
        x->has_nk[i] = 1;
        return R_OK;
    }
    return skip_value(c);
}

static int ann_element(Cursor *c, Py_ssize_t index, void *vctx) {
    AnnCtx *x = vctx;
    if (index >= x->cap) return R_IRREGULAR;
    x->row = index;
    x->seen = 0;
    for (int j = 0; j < 4; j++) x->bbox[4 * index + j] = NAN;
    x->area[index] = NAN;
    x->iscrowd[index] = 0;
    x->num_kp[index] = 0;
    x->has_nk[index] = 0;
    int r = for_each_member(c, ann_member, x);
    if (r != R_OK) return r;
    return (x->seen & 15) == 15 ? R_OK : R_IRREGULAR;
}

static int get_buffers(PyObject *const *objs, Py_buffer *views, const Py_ssize_t *itemsizes, int n) {
    for (int i = 0; i < n; i++) {
        if (get_buffer(objs[i], &views[i], itemsizes[i], "column") < 0) {
            for (int j = 0; j < i; j++) PyBuffer_Release(&views[j]);
            return -1;
        }
    }
    return 0;
}

PyDoc_STRVAR(parse_images_doc,
"parse_images(data, start, end, id, width, height, name_start, name_len, crowd) -> n or -1");

static PyObject *parse_images(PyObject *self, PyObject *args) {
    Py_buffer data;
    Py_ssize_t start, end;
    PyObject *o[6];
    if (!PyArg_ParseTuple(args, "y*nnOOOOOO", &data, &start, &end, &o[0], &o[1], &o[2], &o[3],
                          &o[4], &o[5]))
        return NULL;
    Py_buffer b[6];
    const Py_ssize_t sizes[6] = {8, 8, 8, 8, 8, 8};
    if (start < 0 || end > data.len || start > end) {
        PyBuffer_Release(&data);
        PyErr_SetString(PyExc_ValueError, "bad span");
        return NULL;
    }
    if (get_buffers(o, b, sizes, 6) < 0) { PyBuffer_Release(&data); return NULL; }
    ImgCtx x;
    x.id = b[0].buf; x.width = b[1].buf; x.height = b[2].buf;
    x.name_start = b[3].buf; x.name_len = b[4].buf; x.crowd = b[5].buf;
    x.cap = b[0].len / 8;
    for (int i = 1; i < 6; i++) if (b[i].len / 8 < x.cap) x.cap = b[i].len / 8;
    x.base = data.buf;
    Cursor c = {(const char *)data.buf + start, (const char *)data.buf + end};
    Py_ssize_t count = -1;
    int r;
    Py_BEGIN_ALLOW_THREADS
    r = for_each_element(&c, image_element, &x, &count);
    if (r == R_OK) { skip_ws(&c); if (c.p != c.end) r = R_IRREGULAR; }
    Py_END_ALLOW_THREADS
    for (int i = 0; i < 6; i++) PyBuffer_Release(&b[i]);
    PyBuffer_Release(&data);
    return PyLong_FromSsize_t(r == R_OK ? count : -1);
}

PyDoc_STRVAR(parse_annotations_doc,
"parse_annotations(data, start, end, k3, id, image_id, category_id, num_keypoints, keypoints,\n"
"                  bbox, area, iscrowd, has_num_keypoints) -> n or -1");

static PyObject *parse_annotations(PyObject *self, PyObject *args) {
    Py_buffer data;
    Py_ssize_t start, end, k3;
    PyObject *o[9];
    if (!PyArg_ParseTuple(args, "y*nnnOOOOOOOOO", &data, &start, &end, &k3, &o[0], &o[1], &o[2],
                          &o[3], &o[4], &o[5], &o[6], &o[7], &o[8]))
        return NULL;
    Py_buffer b[9];
    const Py_ssize_t sizes[9] = {8, 8, 8, 8, 8, 8, 8, 1, 1};
    if (start < 0 || end > data.len || start > end || k3 <= 0) {
        PyBuffer_Release(&data);
        PyErr_SetString(PyExc_ValueError, "bad span");
        return NULL;
    }
    if (get_buffers(o, b, sizes, 9) < 0) { PyBuffer_Release(&data); return NULL; }
    AnnCtx x;
    x.id = b[0].buf; x.image_id = b[1].buf; x.category_id = b[2].buf; x.num_kp = b[3].buf;
    x.kp = b[4].buf; x.bbox = b[5].buf; x.area = b[6].buf; x.iscrowd = b[7].buf;
    x.has_nk = b[8].buf;
    x.k3 = k3;
    x.cap = b[0].len / 8;
    Py_ssize_t caps[9] = {b[0].len / 8, b[1].len / 8, b[2].len / 8, b[3].len / 8,
                          b[4].len / 8 / k3, b[5].len / 32, b[6].len / 8, b[7].len, b[8].len};
    for (int i = 1; i < 9; i++) if (caps[i] < x.cap) x.cap = caps[i];
    Cursor c = {(const char *)data.buf + start, (const char *)data.buf + end};
    Py_ssize_t count = -1;
    int r;
    Py_BEGIN_ALLOW_THREADS
    r = for_each_element(&c, ann_element, &x, &count);
    if (r == R_OK) { skip_ws(&c); if (c.p != c.end) r = R_IRREGULAR; }
    Py_END_ALLOW_THREADS
    for (int i = 0; i < 9; i++) PyBuffer_Release(&b[i]);
    PyBuffer_Release(&data);
    return PyLong_FromSsize_t(r == R_OK ? count : -1);
}

PyDoc_STRVAR(parse_float_doc,
"parse_float(text) -> float or None: one JSON number as the fast path reads it (tests).");

static PyObject *parse_float(PyObject *self, PyObject *args) {
    Py_buffer data;
    if (!PyArg_ParseTuple(args, "y*", &data)) return NULL;
    /* a terminator is needed after the literal: copy with a trailing space */
    char *tmp = PyMem_Malloc((size_t)data.len + 1);
    if (tmp == NULL) { PyBuffer_Release(&data); return PyErr_NoMemory(); }
    memcpy(tmp, data.buf, (size_t)data.len);
    tmp[data.len] = ' ';
    Cursor c = {tmp, tmp + data.len + 1};
    double v;
    int is_int, int_ok;
    int64_t iv;
    int r = parse_number(&c, &v, &is_int, &iv, &int_ok);
    int whole = (c.p == tmp + data.len);
    PyMem_Free(tmp);
    PyBuffer_Release(&data);
    if (r != R_OK || !whole) Py_RETURN_NONE;
    return PyFloat_FromDouble(v);
}

/* ---- whole pieces of a file, read and parsed without the GIL (parse_file, count_file) */

#ifdef _WIN32
#define PB_FSEEK _fseeki64
#else
#define PB_FSEEK fseeko
#endif

static FILE *open_at(const char *path, long long at) {
    FILE *f = fopen(path, "rb");
    if (f == NULL) return NULL;
    if (PB_FSEEK(f, at, SEEK_SET) != 0) {
        fclose(f);
        return NULL;
    }
    return f;
}

static inline int stopped(const volatile uint8_t *flag) { return flag != NULL && flag[0] != 0; }

PyDoc_STRVAR(count_file_doc,
"count_file(path, lo, hi, byte, stop) -> int: how many times `byte` occurs in bytes [lo, hi) of\n"
"the file; -1 when it cannot be read (or is shorter), -2 when stop[0] became nonzero.");

static PyObject *count_file(PyObject *Py_UNUSED(self), PyObject *args) {
    const char *path;
    long long lo, hi;
    int ch;
    Py_buffer stop;
    if (!PyArg_ParseTuple(args, "yLLiw*", &path, &lo, &hi, &ch, &stop)) return NULL;
    Py_ssize_t n = 0;
    const volatile uint8_t *flag = stop.len > 0 ? (const volatile uint8_t *)stop.buf : NULL;
    Py_BEGIN_ALLOW_THREADS
    FILE *f = lo >= 0 && hi >= lo ? open_at(path, lo) : NULL;
    if (f == NULL) {
        n = -1;
    } else {
        enum { CHUNK = 1 << 20 };
        unsigned char *buf = malloc(CHUNK);
        long long left = hi - lo;
        if (buf == NULL) n = -1;
        while (buf != NULL && left > 0) {
            if (stopped(flag)) { n = -2; break; }
            size_t want = left < CHUNK ? (size_t)left : (size_t)CHUNK;
            size_t got = fread(buf, 1, want, f);
            if (got == 0) { n = -1; break; }
            const unsigned char c = (unsigned char)ch;
            Py_ssize_t k = 0;
            for (size_t i = 0; i < got; i++) k += (buf[i] == c);
            n += k;
            left -= (long long)got;
        }
        free(buf);
        fclose(f);
    }
    Py_END_ALLOW_THREADS
    PyBuffer_Release(&stop);
    return PyLong_FromSsize_t(n);
}

PyDoc_STRVAR(parse_file_doc,
"parse_file(path, lo, hi, state, end_state, chunk, k3, xy, ks, img, cat, score, bbox, has_bbox,\n"
"           stop) -> (status, rows)\n\n"
"parse() over bytes [lo, hi) of the file, read in chunks of `chunk` bytes (the buffer grows for a\n"
"longer record), rows from 0, the GIL released throughout. status: 0 finished in end_state,\n"
"2 irregular, 3 the file could not be read as asked, 4 stopped (stop[0] nonzero).");

static PyObject *parse_file(PyObject *Py_UNUSED(self), PyObject *args) {
    const char *path;
    long long lo, hi;
    int state, end_state;
    Py_ssize_t chunk, k3;
    PyObject *o_kp, *o_ks, *o_img, *o_cat, *o_score, *o_bbox, *o_has;
    Py_buffer stop;
    if (!PyArg_ParseTuple(args, "yLLiinnOOOOOOOw*", &path, &lo, &hi, &state, &end_state, &chunk,
                          &k3, &o_kp, &o_ks, &o_img, &o_cat, &o_score, &o_bbox, &o_has, &stop))
        return NULL;
    PyObject *result = NULL;
    Py_buffer bb[7];
    int nb = 0;
    PyObject *objs[7] = {o_kp, o_img, o_cat, o_score, o_bbox, o_has, o_ks};
    const Py_ssize_t sizes[7] = {8, 8, 8, 8, 8, 1, 8};
    const char *names[7] = {"xy", "img", "cat", "score", "bbox", "has_bbox", "ks"};
    const int have_ks = o_ks != Py_None;
    if (k3 <= 0 || k3 % 3 != 0 || k3 > MAX_K3 || chunk < 1 || lo < 0 || hi < lo) {
        PyErr_SetString(PyExc_ValueError, "bad arguments");
        goto out;
    }
    for (; nb < (have_ks ? 7 : 6); nb++)
        if (get_buffer(objs[nb], &bb[nb], sizes[nb], names[nb]) < 0) goto out;
    Columns cols;
    const Py_ssize_t k = k3 / 3;
    cols.k3 = k3;
    cols.cap = bb[1].len / 8;
    if (bb[0].len / 8 / (2 * k) < cols.cap) cols.cap = bb[0].len / 8 / (2 * k);
    if (have_ks && bb[6].len / 8 / k < cols.cap) cols.cap = bb[6].len / 8 / k;
    if (bb[2].len / 8 < cols.cap) cols.cap = bb[2].len / 8;
    if (bb[3].len / 8 < cols.cap) cols.cap = bb[3].len / 8;
    if (bb[4].len / 32 < cols.cap) cols.cap = bb[4].len / 32;
    if (bb[5].len < cols.cap) cols.cap = bb[5].len;
    cols.xy = bb[0].buf;
    cols.img = bb[1].buf;
    cols.cat = bb[2].buf;
    cols.score = bb[3].buf;
    cols.bbox = bb[4].buf;
    cols.has_bbox = bb[5].buf;
    cols.ks = have_ks ? bb[6].buf : NULL;
    const volatile uint8_t *flag = stop.len > 0 ? (const volatile uint8_t *)stop.buf : NULL;
    int status = 3;
    Py_ssize_t row = 0;
    Py_BEGIN_ALLOW_THREADS
    FILE *f = open_at(path, lo);
    size_t cap = (size_t)(2 * chunk);
    char *buf = f != NULL ? malloc(cap) : NULL;
    if (buf != NULL) {
        size_t have = 0;
        long long left = hi - lo;
        for (;;) {
            if (stopped(flag)) { status = 4; break; }
            if (have == cap) { /* a record longer than the buffer */
                char *bigger = realloc(buf, 2 * cap);
                if (bigger == NULL) { status = 3; break; }
                buf = bigger;
                cap *= 2;
            }
            size_t want = cap - have;
            if ((long long)want > left) want = (size_t)left;
            size_t got = want > 0 ? fread(buf + have, 1, want, f) : 0;
            if (want > 0 && got == 0) { status = 3; break; } /* shorter than asked */
            have += got;
            left -= (long long)got;
            const int final = left == 0;
            Cursor c = {buf, buf + have};
            const char *committed = buf;
            status = parse_records(&c, &state, &row, final, end_state, &cols, &committed);
            if (status != 1) break;
            if (final) { status = 2; break; }
            size_t used = (size_t)(committed - buf);
            memmove(buf, buf + used, have - used);
            have -= used;
        }
    }
    free(buf);
    if (f != NULL) fclose(f);
    Py_END_ALLOW_THREADS
    result = Py_BuildValue("(in)", status, row);
out:
    for (int i = 0; i < nb; i++) PyBuffer_Release(&bb[i]);
    PyBuffer_Release(&stop);
    return result;
}

PyDoc_STRVAR(count_byte_doc,
"count_byte(data, byte) -> int: how many times `byte` (0..255) occurs in data (GIL released).");

static PyObject *count_byte(PyObject *Py_UNUSED(self), PyObject *args) {
    Py_buffer data;
    int ch;
    if (!PyArg_ParseTuple(args, "y*i", &data, &ch)) return NULL;
    Py_ssize_t n = 0;
    const unsigned char *p = data.buf;
    const Py_ssize_t len = data.len;
    const unsigned char c = (unsigned char)ch;
    Py_BEGIN_ALLOW_THREADS
    for (Py_ssize_t i = 0; i < len; i++) n += (p[i] == c);
    Py_END_ALLOW_THREADS
    PyBuffer_Release(&data);
    return PyLong_FromSsize_t(n);
}

static PyMethodDef methods[] = {
    {"count_byte", count_byte, METH_VARARGS, count_byte_doc},
    {"count_file", count_file, METH_VARARGS, count_file_doc},
    {"parse_file", parse_file, METH_VARARGS, parse_file_doc},
    {"parse", parse, METH_VARARGS, parse_doc},
    {"parse_float", parse_float, METH_VARARGS, parse_float_doc},
    {"scan_top", scan_top, METH_VARARGS, scan_top_doc},
    {"parse_images", parse_images, METH_VARARGS, parse_images_doc},
    {"parse_annotations", parse_annotations, METH_VARARGS, parse_annotations_doc},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_fastjson",
    "Streaming reader for COCO keypoint results files (fast path; see fastjson.py).", -1,
    methods,
};

PyMODINIT_FUNC PyInit__fastjson(void) { return PyModule_Create(&module); }
