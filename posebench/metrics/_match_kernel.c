/* Greedy OKS matching of COCOeval, image by image (see cocoeval.match_detections).
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
 * path's exactly (tests/test_match_kernel.py compares both).
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

static PyMethodDef methods[] = {
    {"match", match, METH_VARARGS, match_doc},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_match_kernel",
    "Greedy OKS matching of COCOeval, image by image (GIL released).", -1, methods,
};

PyMODINIT_FUNC PyInit__match_kernel(void) { return PyModule_Create(&module); }
