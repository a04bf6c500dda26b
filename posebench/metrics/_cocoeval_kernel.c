/* Compiled kernels of posebench.metrics.cocoeval: the greedy matching (match) and the
 * precision/recall accumulation (accumulate). Both are optional: the numpy paths they replace give
 * the same numbers, bit for bit (tests/test_threads.py compares them).
 *
 * ---- match: greedy OKS matching of COCOeval, image by image (see cocoeval.match_detections).
 *
 * The numpy path in posebench.metrics.cocoeval._greedy_match_numpy runs the greedy matching one
 * detection rank at a time over all images, area ranges and thresholds at once; this kernel runs
 * the same rule detection by detection, in the order of the detection positions (by image, then
 * rank within the image), which visits every image's detections in rank order, as pycocotools
 * does. Images are independent, so a caller may split the detections at image boundaries and run
 * the pieces in threads (the GIL is released): each piece touches only its own images' GT.
 *
 * The rule, for detection d at area range a and threshold t (pycocotools evaluateImg):
 *   candidates: its pairs (d, g) with oks >= thr[t] and (g not yet matched at (a, t) or g crowd);
 *   among the candidates whose GT is not ignored at a, the largest oks, ties to the last pair
 *   (pycocotools' `if ious < iou: continue` lets an equal later value win); only when there is
 *   none, the same among the ignored ones (pycocotools sorts ignored GT last and stops once a
 *   regular match exists). Pairs come ordered by (detection, GT position).
 * No floating-point arithmetic happens here (comparisons only), so the result is the numpy
 * path's exactly (tests/test_threads.py compares both).
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>

static int view(PyObject *o, Py_buffer *b, Py_ssize_t itemsize, int writable, const char *name) {
    int flags = PyBUF_C_CONTIGUOUS | (writable ? PyBUF_WRITABLE : 0);
    if (PyObject_GetBuffer(o, b, flags) < 0) return -1;
    if (b->itemsize != itemsize) {
        PyErr_Format(PyExc_TypeError, "%s: item size %zd, expected %zd", name, b->itemsize,
                     itemsize);
        PyBuffer_Release(b);
        return -1;
    }
    return 0;
}

PyDoc_STRVAR(match_doc,
"match(d0, d1, g0, g1, p0, p1, pair_det, pair_gt, pair_oks, crowd, g_ignore, thr, ann_id, id_rule,\n"
"      matched, det_match, det_ign, det_count, gt_match)\n\n"
"Match detections d0..d1-1 against GT g0..g1-1 (whole images), their pairs pair_*[p0:p1]\n"
"(ordered by detection, then GT position).\n"
"pair_det, pair_gt (P,) int64; pair_oks (P,) float64; crowd (G,) uint8; g_ignore (A, G) uint8;\n"
"thr (T,) float64; ann_id (G,) int64 (the GT annotation ids, read by id_rule); id_rule: 0 every\n"
"match counts, 1 a match to id 0 does not count (pycocotools), 2 a match to a negative id does\n"
"not count (xtcocotools), 3 both. matched (A, T, G) uint8 scratch. Writes, for these detections\n"
"and GT only: det_match (A, T, D) int32 (-1 unmatched), det_ign (A, T, D) uint8 (matched to an\n"
"ignored GT), det_count (A, T, D) uint8 (a match that counts), gt_match (A, T, G) int32.");

static PyObject *match(PyObject *Py_UNUSED(self), PyObject *args) {
    Py_ssize_t d0, d1, g0, g1, p0, p1;
    int id_rule;
    PyObject *o[14];
    if (!PyArg_ParseTuple(args, "nnnnnnOOOOOOOiOOOOO", &d0, &d1, &g0, &g1, &p0, &p1, &o[0], &o[1], &o[2],
                          &o[3], &o[4], &o[5], &o[6], &id_rule, &o[7], &o[8], &o[9], &o[10],
                          &o[11]))
        return NULL;
    static const Py_ssize_t sizes[12] = {8, 8, 8, 1, 1, 8, 8, 1, 4, 1, 1, 4};
    static const char *names[12] = {"pair_det", "pair_gt", "pair_oks", "crowd", "g_ignore",
                                    "thr", "ann_id", "matched", "det_match", "det_ign",
                                    "det_count", "gt_match"};
    Py_buffer b[12];
    int got = 0;
    PyObject *result = NULL;
    for (; got < 12; got++)
        if (view(o[got], &b[got], sizes[got], got >= 7, names[got]) < 0) goto out;
    const Py_ssize_t n_pair = b[0].len / 8, n_gt = b[3].len, n_thr = b[5].len / 8;
    if (b[4].ndim != 2 || b[7].ndim != 3 || b[8].ndim != 3 || b[9].ndim != 3 ||
        b[10].ndim != 3 || b[11].ndim != 3) {
        PyErr_SetString(PyExc_ValueError, "g_ignore (A, G); matched, det_*, gt_match 3-D");
        goto out;
    }
    const Py_ssize_t n_area = b[4].shape[0], n_det = b[8].shape[2];
    if (b[1].len / 8 != n_pair || b[2].len / 8 != n_pair || b[4].shape[1] != n_gt ||
        b[6].len / 8 != n_gt || b[7].shape[0] != n_area || b[7].shape[1] != n_thr ||
        b[7].shape[2] != n_gt || b[8].shape[0] != n_area || b[8].shape[1] != n_thr ||
        b[9].shape[0] != n_area || b[9].shape[1] != n_thr || b[9].shape[2] != n_det ||
        b[10].shape[0] != n_area || b[10].shape[1] != n_thr || b[10].shape[2] != n_det ||
        b[11].shape[0] != n_area || b[11].shape[1] != n_thr || b[11].shape[2] != n_gt) {
        PyErr_SetString(PyExc_ValueError, "inconsistent shapes");
        goto out;
    }
    if (d0 < 0 || d1 < d0 || d1 > n_det || g0 < 0 || g1 < g0 || g1 > n_gt || p0 < 0 || p1 < p0 || p1 > n_pair || id_rule < 0 ||
        id_rule > 3) {
        PyErr_SetString(PyExc_ValueError, "range out of bounds");
        goto out;
    }
    const int64_t *pd = b[0].buf, *pg = b[1].buf, *ann_id = b[6].buf;
    const double *po = b[2].buf, *thr = b[5].buf;
    const uint8_t *crowd = b[3].buf, *g_ign = b[4].buf;
    uint8_t *matched = b[7].buf, *det_ign = b[9].buf, *det_count = b[10].buf;
    int32_t *det_match = b[8].buf, *gt_match = b[11].buf;
    /* every index used below is checked here: pairs of these detections only, in order */
    for (Py_ssize_t i = p0; i < p1; i++) {
        if (pd[i] < d0 || pd[i] >= d1 || pg[i] < g0 || pg[i] >= g1 || pg[i] > INT32_MAX ||
            (i > p0 && (pd[i] < pd[i - 1] || (pd[i] == pd[i - 1] && pg[i] <= pg[i - 1])))) {
            PyErr_SetString(PyExc_ValueError, "pairs out of range or not ordered by (det, gt)");
            goto out;
        }
    }
    if (n_det > INT32_MAX) {
        PyErr_SetString(PyExc_ValueError, "too many detections");
        goto out;
    }
    Py_BEGIN_ALLOW_THREADS
    for (Py_ssize_t a = 0; a < n_area; a++)
        for (Py_ssize_t t = 0; t < n_thr; t++) {
            Py_ssize_t at = a * n_thr + t;
            int32_t *dm = det_match + at * n_det;
            memset(dm + d0, 0xff, sizeof(int32_t) * (size_t)(d1 - d0));
            memset(det_ign + at * n_det + d0, 0, (size_t)(d1 - d0));
            memset(det_count + at * n_det + d0, 0, (size_t)(d1 - d0));
            memset(gt_match + at * n_gt + g0, 0xff, sizeof(int32_t) * (size_t)(g1 - g0));
            memset(matched + at * n_gt + g0, 0, (size_t)(g1 - g0));
        }
    Py_ssize_t s = p0;
    while (s < p1) {
        const int64_t d = pd[s];
        Py_ssize_t e = s + 1;
        while (e < p1 && pd[e] == d) e++;
        for (Py_ssize_t a = 0; a < n_area; a++) {
            const uint8_t *ign = g_ign + a * n_gt;
            for (Py_ssize_t t = 0; t < n_thr; t++) {
                const Py_ssize_t at = a * n_thr + t;
                uint8_t *m = matched + at * n_gt;
                const double th = thr[t];
                Py_ssize_t best_reg = -1, best_ign = -1;
                double v_reg = 0.0, v_ign = 0.0;
                for (Py_ssize_t i = s; i < e; i++) {
                    const int64_t g = pg[i];
                    const double v = po[i];
                    if (!(v >= th) || (m[g] && !crowd[g])) continue;
                    if (!ign[g]) {
                        if (best_reg < 0 || v >= v_reg) { best_reg = i; v_reg = v; }
                    } else if (best_ign < 0 || v >= v_ign) {
                        best_ign = i;
                        v_ign = v;
                    }
                }
                const Py_ssize_t pick = best_reg >= 0 ? best_reg : best_ign;
                if (pick < 0) continue;
                const int64_t g = pg[pick];
                m[g] = 1;
                det_match[at * n_det + d] = (int32_t)g;
                gt_match[at * n_gt + g] = (int32_t)d;
                det_ign[at * n_det + d] = ign[g];
                int counts = 1;
                if ((id_rule & 1) && ann_id[g] == 0) counts = 0;
                if ((id_rule & 2) && ann_id[g] < 0) counts = 0;
                det_count[at * n_det + d] = (uint8_t)counts;
            }
        }
        s = e;
    }
    Py_END_ALLOW_THREADS
    result = Py_None;
    Py_INCREF(result);
out:
    for (int i = 0; i < got; i++) PyBuffer_Release(&b[i]);
    return result;
}

/* ---- accumulate: one (area range, threshold) of cocoeval.accumulate.
 *
 * For detections taken in `order` (score-sorted, as pycocotools' mergesort), with tp = det_tp,
 * fp = not ignored and not tp: the running counts as int64, then the same float64 operations in
 * the same order as the numpy path (itself pycocotools' arithmetic): rc = tp / npig,
 * pr = tp / ((tp + fp) + eps), the running maximum of pr from the right, and for each recall
 * threshold the first index with rc >= it (numpy searchsorted, side="left"). */
PyDoc_STRVAR(accumulate_doc,
"accumulate(order, tp, ignore, npig, eps, rec_thrs, scores_sorted, precision, recall, scores,\n"
"           work)\n\n"
"order (nd,) int64; tp, ignore (D,) uint8 (one area range and threshold); npig > 0; rec_thrs\n"
"(R,) and scores_sorted (nd,) float64; writes precision (R,) and scores (R,) (0 where a recall\n"
"threshold is not reached) and recall (1,) float64. work: (2 nd,) float64 scratch.");

static PyObject *accumulate(PyObject *Py_UNUSED(self), PyObject *args) {
    PyObject *o[10];
    long long npig;
    double eps;
    if (!PyArg_ParseTuple(args, "OOOLdOOOOOO", &o[0], &o[1], &o[2], &npig, &eps, &o[3], &o[4],
                          &o[5], &o[6], &o[7], &o[8]))
        return NULL;
    static const Py_ssize_t sizes[9] = {8, 1, 1, 8, 8, 8, 8, 8, 8};
    static const char *names[9] = {"order", "tp", "ignore", "rec_thrs", "scores_sorted",
                                   "precision", "recall", "scores", "work"};
    Py_buffer b[9];
    int got = 0;
    PyObject *result = NULL;
    for (; got < 9; got++)
        if (view(o[got], &b[got], sizes[got], got >= 5, names[got]) < 0) goto out;
    const Py_ssize_t nd = b[0].len / 8, n_det = b[1].len, n_rec = b[3].len / 8;
    if (b[2].len != n_det || b[4].len / 8 != nd || b[5].len / 8 != n_rec ||
        b[6].len / 8 != 1 || b[7].len / 8 != n_rec || b[8].len / 8 < 2 * nd || npig <= 0) {
        PyErr_SetString(PyExc_ValueError, "inconsistent shapes");
        goto out;
    }
    const int64_t *order = b[0].buf;
    for (Py_ssize_t i = 0; i < nd; i++)
        if (order[i] < 0 || order[i] >= n_det) {
            PyErr_SetString(PyExc_ValueError, "order out of range");
            goto out;
        }
    const uint8_t *tp = b[1].buf, *ign = b[2].buf;
    const double *rec_thrs = b[3].buf, *ss = b[4].buf;
    double *prec = b[5].buf, *recall = b[6].buf, *sc = b[7].buf;
    double *rc = b[8].buf, *pr = rc + nd;
    Py_BEGIN_ALLOW_THREADS
    int64_t tp_cnt = 0, fp_cnt = 0;
    const double g = (double)npig;
    for (Py_ssize_t i = 0; i < nd; i++) {
        const int64_t d = order[i];
        const int t = tp[d] != 0;
        tp_cnt += t;
        fp_cnt += (!t && !ign[d]);
        const double tp_sum = (double)tp_cnt;
        rc[i] = tp_sum / g;
        double denom = (double)(fp_cnt + tp_cnt);
        denom += eps;
        pr[i] = tp_sum / denom;
    }
    recall[0] = nd ? rc[nd - 1] : 0.0;
    for (Py_ssize_t i = nd - 1; i > 0; i--)
        if (pr[i] > pr[i - 1]) pr[i - 1] = pr[i]; /* np.maximum.accumulate, from the right */
    for (Py_ssize_t r = 0; r < n_rec; r++) {
        const double v = rec_thrs[r];
        Py_ssize_t lo = 0, hi = nd; /* first i with !(rc[i] < v), as numpy's left search */
        while (lo < hi) {
            Py_ssize_t mid = lo + (hi - lo) / 2;
            if (rc[mid] < v) lo = mid + 1;
            else hi = mid;
        }
        prec[r] = lo < nd ? pr[lo] : 0.0;
        sc[r] = lo < nd ? ss[lo] : 0.0;
    }
    Py_END_ALLOW_THREADS
    result = Py_None;
    Py_INCREF(result);
out:
    for (int i = 0; i < got; i++) PyBuffer_Release(&b[i]);
    return result;
}

/* ---- boxes: cocoeval._keypoint_boxes for selected rows. min/max compare only (no arithmetic);
 * a NaN coordinate gives NaN, as numpy's minimum/maximum reductions. */
PyDoc_STRVAR(boxes_doc,
"boxes(kp, rows, out)\n\n"
"kp (N, K, C) float64 with C >= 2; rows (D,) int64; writes out (D, 4) float64: xmin, ymin,\n"
"xmax, ymax of each selected row's K keypoints.");

static inline double nan_min(double m, double v) { return (v < m || v != v) ? v : m; }
static inline double nan_max(double m, double v) { return (v > m || v != v) ? v : m; }

static PyObject *boxes(PyObject *Py_UNUSED(self), PyObject *args) {
    PyObject *o[3];
    if (!PyArg_ParseTuple(args, "OOO", &o[0], &o[1], &o[2])) return NULL;
    Py_buffer b[3];
    int got = 0;
    PyObject *result = NULL;
    static const char *names[3] = {"kp", "rows", "out"};
    for (; got < 3; got++)
        if (view(o[got], &b[got], 8, got == 2, names[got]) < 0) goto out;
    if (b[0].ndim != 3 || b[0].shape[2] < 2 || b[0].shape[1] < 1 || b[2].len / 32 != b[1].len / 8) {
        PyErr_SetString(PyExc_ValueError, "kp (N, K, C>=2), rows (D,), out (D, 4)");
        goto out;
    }
    const Py_ssize_t n = b[0].shape[0], k = b[0].shape[1], ch = b[0].shape[2], d = b[1].len / 8;
    const int64_t *rows = b[1].buf;
    for (Py_ssize_t i = 0; i < d; i++)
        if (rows[i] < 0 || rows[i] >= n) {
            PyErr_SetString(PyExc_ValueError, "rows out of range");
            goto out;
        }
    const double *kp = b[0].buf;
    double *box = b[2].buf;
    Py_BEGIN_ALLOW_THREADS
    for (Py_ssize_t i = 0; i < d; i++) {
        const double *p = kp + rows[i] * k * ch;
        double x0 = p[0], y0 = p[1], x1 = p[0], y1 = p[1];
        for (Py_ssize_t j = 1; j < k; j++) {
            const double x = p[j * ch], y = p[j * ch + 1];
            x0 = nan_min(x0, x);
            x1 = nan_max(x1, x);
            y0 = nan_min(y0, y);
            y1 = nan_max(y1, y);
        }
        box[4 * i] = x0;
        box[4 * i + 1] = y0;
        box[4 * i + 2] = x1;
        box[4 * i + 3] = y1;
    }
    Py_END_ALLOW_THREADS
    result = Py_None;
    Py_INCREF(result);
out:
    for (int i = 0; i < got; i++) PyBuffer_Release(&b[i]);
    return result;
}

/* ---- order: cocoeval.prepare_detections' sort. Rows by image index, then score descending,
 * ties (and NaN scores, last) in row order: numpy's stable argsort on -score followed by a stable
 * argsort on the image index. A counting sort by image (stable), then a stable sort of each
 * image's rows by score descending (insertion sort for small images, merge sort otherwise). */
static inline int before(const double *score, int64_t a, int64_t b) {
    const double sa = score[a], sb = score[b];
    if (sa == sb) return a < b;
    if (sa != sa) return sb != sb ? a < b : 0; /* NaN last */
    if (sb != sb) return 1;
    return sa > sb;
}

/* Stable merge sort of r[0..m) by `before`, tmp: m entries of scratch. */
static void merge_sort(const double *score, int64_t *r, int64_t *tmp, int64_t m) {
    for (int64_t width = 1; width < m; width *= 2) {
        for (int64_t lo = 0; lo < m; lo += 2 * width) {
            int64_t mid = lo + width < m ? lo + width : m;
            int64_t hi = lo + 2 * width < m ? lo + 2 * width : m;
            int64_t i = lo, j = mid, k = lo;
            while (i < mid && j < hi) tmp[k++] = before(score, r[j], r[i]) ? r[j++] : r[i++];
            while (i < mid) tmp[k++] = r[i++];
            while (j < hi) tmp[k++] = r[j++];
        }
        memcpy(r, tmp, sizeof(int64_t) * (size_t)m);
    }
}

PyDoc_STRVAR(order_doc,
"order(img, score, n_img, max_det, rows, image_index, rank) -> n\n\n"
"img (N,) int64 image index of each row, -1 for rows not kept; score (N,) float64. Writes the\n"
"first n entries of rows, image_index, rank ((N,) int64 each): the kept rows by image, then\n"
"score descending (ties and NaN, last, in row order), those of rank < max_det in each image.");

static PyObject *order(PyObject *Py_UNUSED(self), PyObject *args) {
    PyObject *o[5];
    Py_ssize_t n_img, max_det;
    if (!PyArg_ParseTuple(args, "OOnnOOO", &o[0], &o[1], &n_img, &max_det, &o[2], &o[3], &o[4]))
        return NULL;
    Py_buffer b[5];
    int got = 0;
    PyObject *result = NULL;
    static const char *names[5] = {"img", "score", "rows", "image_index", "rank"};
    for (; got < 5; got++)
        if (view(o[got], &b[got], 8, got >= 2, names[got]) < 0) goto out;
    const Py_ssize_t n = b[0].len / 8;
    if (b[1].len / 8 != n || b[2].len / 8 < n || b[3].len / 8 < n || b[4].len / 8 < n ||
        n_img < 0 || max_det < 0) {
        PyErr_SetString(PyExc_ValueError, "inconsistent shapes");
        goto out;
    }
    const int64_t *img = b[0].buf;
    for (Py_ssize_t i = 0; i < n; i++)
        if (img[i] < -1 || img[i] >= n_img) {
            PyErr_SetString(PyExc_ValueError, "image index out of range");
            goto out;
        }
    const double *score = b[1].buf;
    int64_t *rows = b[2].buf, *image_index = b[3].buf, *rank = b[4].buf;
    int64_t *start = PyMem_RawCalloc((size_t)n_img + 1, sizeof(int64_t));
    int64_t *sorted = PyMem_RawMalloc(sizeof(int64_t) * (size_t)(n ? n : 1));
    int64_t *tmp = PyMem_RawMalloc(sizeof(int64_t) * (size_t)(n ? n : 1));
    if (start == NULL || sorted == NULL || tmp == NULL) {
        PyMem_RawFree(start);
        PyMem_RawFree(sorted);
        PyMem_RawFree(tmp);
        PyErr_NoMemory();
        goto out;
    }
    Py_ssize_t out_n = 0;
    Py_BEGIN_ALLOW_THREADS
    for (Py_ssize_t i = 0; i < n; i++)
        if (img[i] >= 0) start[img[i] + 1]++;
    for (Py_ssize_t g = 0; g < n_img; g++) start[g + 1] += start[g];
    /* counting sort, stable: rows of each image in row order */
    for (Py_ssize_t i = 0; i < n; i++)
        if (img[i] >= 0) sorted[start[img[i]]++] = i;
    /* start[g] is now the end of image g; its begin is start[g - 1] (0 for g = 0) */
    int64_t begin = 0;
    for (Py_ssize_t g = 0; g < n_img; g++) {
        const int64_t end = start[g];
        int64_t *r = sorted + begin;
        const int64_t m = end - begin;
        if (m <= 32) {
            for (int64_t i = 1; i < m; i++) { /* insertion sort: stable on (score desc, row) */
                const int64_t x = r[i];
                int64_t j = i;
                while (j > 0 && before(score, x, r[j - 1])) { r[j] = r[j - 1]; j--; }
                r[j] = x;
            }
        } else {
            merge_sort(score, r, tmp, m);
        }
        for (int64_t i = 0; i < m && i < max_det; i++) {
            rows[out_n] = r[i];
            image_index[out_n] = g;
            rank[out_n] = i;
            out_n++;
        }
        begin = end;
    }
    Py_END_ALLOW_THREADS
    PyMem_RawFree(start);
    PyMem_RawFree(sorted);
    PyMem_RawFree(tmp);
    result = PyLong_FromSsize_t(out_n);
out:
    for (int i = 0; i < got; i++) PyBuffer_Release(&b[i]);
    return result;
}

static PyMethodDef methods[] = {
    {"boxes", boxes, METH_VARARGS, boxes_doc},
    {"order", order, METH_VARARGS, order_doc},
    {"match", match, METH_VARARGS, match_doc},
    {"accumulate", accumulate, METH_VARARGS, accumulate_doc},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_cocoeval_kernel",
    "Greedy OKS matching of COCOeval, image by image (GIL released).", -1, methods,
};

PyMODINIT_FUNC PyInit__cocoeval_kernel(void) { return PyModule_Create(&module); }
