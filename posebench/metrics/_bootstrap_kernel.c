/* Precision/recall curves of bootstrap replicates, one replicate at a time (see bootstrap.py).
 *
 * The numpy path in posebench.metrics.bootstrap._precision_recall computes, for a block of b
 * replicates, (detections x b) cumulative sums and running maxima; this kernel computes the same
 * numbers replicate by replicate with every working array in cache, without the (n x b)
 * temporaries. Same integers, same float64 operations in the same order, so the same bits
 * (tests/test_bootstrap_kernel.py compares both paths).
 *
 * For one (category, area) detection sequence and one replicate with unit multiplicities c[u]:
 *   counted prefix  P[k]  = sum of c[counted_unit[i]] for i < k
 *   at threshold t, for its true positives j = 0..n_tp-1 (in sorted order):
 *     own_j    = c[tp_unit[j]]
 *     tp_sum_j = sum of own up to and including j
 *     seen_j   = P[counted_before[j]] + own_j - (sum of c[skip_unit[i]] for i < skip_before[j])
 *     pr_j     = tp_sum_j / (seen_j + eps), then the running maximum from the right
 *   precision[r] = pr at the first j with tp_sum_j >= n_r[r] (0 if none)
 *   recall       = tp_sum_last / max(g, 1) if nd > 0 else 0
 * The GIL is released; the caller may run blocks of replicates in threads.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <float.h>
#include <stdint.h>
#include <stdlib.h>

static int view(PyObject *o, Py_buffer *b, Py_ssize_t itemsize, int writable, const char *name) {
    int flags = PyBUF_C_CONTIGUOUS | PyBUF_FORMAT | (writable ? PyBUF_WRITABLE : 0);
    if (PyObject_GetBuffer(o, b, flags) < 0) return -1;
    if (b->itemsize != itemsize) {
        PyErr_Format(PyExc_TypeError, "%s: item size %zd, expected %zd", name, b->itemsize,
                     itemsize);
        PyBuffer_Release(b);
        return -1;
    }
    return 0;
}

PyDoc_STRVAR(curves_doc,
"curves(counts, counted_unit, tp_unit, counted_before, skip_before, tp_off, skip_unit, skip_off,\n"
"       n_r, nd, g, precision, recall)\n\n"
"counts (b, U) int32; counted_unit (n_c,), tp_unit/counted_before/skip_before (sum n_tp,),\n"
"tp_off (T+1,), skip_unit (sum n_skip,), skip_off (T+1,), n_r (b, R), nd (b,), g (b,) int64;\n"
"writes precision (b, T, R) and recall (b, T) float64 (zeros where nothing is defined).");

static PyObject *curves(PyObject *self, PyObject *args) {
    PyObject *o[13];
    if (!PyArg_ParseTuple(args, "OOOOOOOOOOOOO", &o[0], &o[1], &o[2], &o[3], &o[4], &o[5], &o[6],
                          &o[7], &o[8], &o[9], &o[10], &o[11], &o[12]))
        return NULL;
    static const Py_ssize_t sizes[13] = {4, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8};
    static const char *names[13] = {"counts", "counted_unit", "tp_unit", "counted_before",
                                    "skip_before", "tp_off", "skip_unit", "skip_off", "n_r",
                                    "nd", "g", "precision", "recall"};
    Py_buffer b[13];
    int got = 0;
    for (; got < 13; got++) {
        if (view(o[got], &b[got], sizes[got], got >= 11, names[got]) < 0) goto fail;
    }
    if (b[0].ndim != 2 || b[8].ndim != 2 || b[11].ndim != 3 || b[12].ndim != 2) {
        PyErr_SetString(PyExc_ValueError, "counts, n_r, precision, recall: wrong dimensions");
        goto fail;
    }
    const Py_ssize_t nb = b[0].shape[0], nu = b[0].shape[1];
    const Py_ssize_t n_c = b[1].len / 8;
    const Py_ssize_t n_thr = b[5].len / 8 - 1;
    const Py_ssize_t n_rec = b[8].shape[1];
    if (b[8].shape[0] != nb || b[9].len / 8 != nb || b[10].len / 8 != nb ||
        b[11].shape[0] != nb || b[11].shape[1] != n_thr || b[11].shape[2] != n_rec ||
        b[12].shape[0] != nb || b[12].shape[1] != n_thr || b[7].len / 8 != n_thr + 1 ||
        n_thr < 0) {
        PyErr_SetString(PyExc_ValueError, "inconsistent shapes");
        goto fail;
    }
    const int32_t *counts = b[0].buf;
    const int64_t *counted_unit = b[1].buf, *tp_unit = b[2].buf, *counted_before = b[3].buf;
    const int64_t *skip_before = b[4].buf, *tp_off = b[5].buf, *skip_unit = b[6].buf;
    const int64_t *skip_off = b[7].buf, *n_r = b[8].buf, *nd = b[9].buf, *g = b[10].buf;
    double *precision = b[11].buf, *recall = b[12].buf;
    /* bounds: every index the loops below use is checked once here */
    const Py_ssize_t n_tp_all = b[2].len / 8, n_skip_all = b[6].len / 8;
    if (b[3].len / 8 != n_tp_all || b[4].len / 8 != n_tp_all || tp_off[0] != 0 ||
        tp_off[n_thr] != n_tp_all || skip_off[0] != 0 || skip_off[n_thr] != n_skip_all) {
        PyErr_SetString(PyExc_ValueError, "offsets do not match the arrays");
        goto fail;
    }
    Py_ssize_t max_tp = 0, max_skip = 0;
    for (Py_ssize_t t = 0; t < n_thr; t++) {
        if (tp_off[t + 1] < tp_off[t] || skip_off[t + 1] < skip_off[t]) {
            PyErr_SetString(PyExc_ValueError, "offsets must not decrease");
            goto fail;
        }
        if (tp_off[t + 1] - tp_off[t] > max_tp) max_tp = tp_off[t + 1] - tp_off[t];
        if (skip_off[t + 1] - skip_off[t] > max_skip) max_skip = skip_off[t + 1] - skip_off[t];
        for (Py_ssize_t j = tp_off[t]; j < tp_off[t + 1]; j++) {
            Py_ssize_t n_skip_t = skip_off[t + 1] - skip_off[t];
            if (tp_unit[j] < 0 || tp_unit[j] >= nu || counted_before[j] < 0 ||
                counted_before[j] > n_c || skip_before[j] < 0 || skip_before[j] > n_skip_t) {
                PyErr_SetString(PyExc_ValueError, "index out of range");
                goto fail;
            }
        }
    }
    for (Py_ssize_t i = 0; i < n_c; i++)
        if (counted_unit[i] < 0 || counted_unit[i] >= nu) {
            PyErr_SetString(PyExc_ValueError, "counted_unit out of range");
            goto fail;
        }
    for (Py_ssize_t i = 0; i < n_skip_all; i++)
        if (skip_unit[i] < 0 || skip_unit[i] >= nu) {
            PyErr_SetString(PyExc_ValueError, "skip_unit out of range");
            goto fail;
        }

    int64_t *P = malloc(sizeof(int64_t) * (size_t)(n_c + 1));
    int64_t *S = malloc(sizeof(int64_t) * (size_t)(max_skip + 1));
    int64_t *tps = malloc(sizeof(int64_t) * (size_t)(max_tp + 1));
    double *pr = malloc(sizeof(double) * (size_t)(max_tp + 1));
    if (!P || !S || !tps || !pr) {
        free(P); free(S); free(tps); free(pr);
        PyErr_NoMemory();
        goto fail;
    }
    const double eps = DBL_EPSILON; /* np.spacing(1) */
    Py_BEGIN_ALLOW_THREADS
    for (Py_ssize_t i = 0; i < nb; i++) {
        const int32_t *c = counts + i * nu;
        int64_t acc = 0;
        P[0] = 0;
        for (Py_ssize_t k = 0; k < n_c; k++) {
            acc += c[counted_unit[k]];
            P[k + 1] = acc;
        }
        for (Py_ssize_t t = 0; t < n_thr; t++) {
            double *prec = precision + (i * n_thr + t) * n_rec;
            for (Py_ssize_t r = 0; r < n_rec; r++) prec[r] = 0.0;
            const Py_ssize_t j0 = tp_off[t], n_tp = tp_off[t + 1] - j0;
            if (n_tp == 0) {
                recall[i * n_thr + t] = 0.0;
                continue;
            }
            const int64_t *su = skip_unit + skip_off[t];
            const Py_ssize_t n_skip = skip_off[t + 1] - skip_off[t];
            S[0] = 0;
            for (Py_ssize_t k = 0; k < n_skip; k++) S[k + 1] = S[k] + c[su[k]];
            int64_t tp_sum = 0;
            for (Py_ssize_t j = 0; j < n_tp; j++) {
                int64_t own = c[tp_unit[j0 + j]];
                tp_sum += own;
                int64_t seen = P[counted_before[j0 + j]] + own - S[skip_before[j0 + j]];
                tps[j] = tp_sum;
                pr[j] = (double)tp_sum / ((double)seen + eps);
            }
            for (Py_ssize_t j = n_tp - 1; j > 0; j--)
                if (pr[j] > pr[j - 1]) pr[j - 1] = pr[j];
            const int64_t *nr = n_r + i * n_rec;
            Py_ssize_t pos = 0;
            for (Py_ssize_t r = 0; r < n_rec; r++) {
                /* first j with tps[j] >= nr[r]; nr is nondecreasing, so pos only moves on */
                if (r > 0 && nr[r] < nr[r - 1]) pos = 0;
                while (pos < n_tp && tps[pos] < nr[r]) pos++;
                if (pos < n_tp) prec[r] = pr[pos];
            }
            recall[i * n_thr + t] =
                nd[i] > 0 ? (double)tp_sum / (double)(g[i] > 1 ? g[i] : 1) : 0.0;
        }
    }
    Py_END_ALLOW_THREADS
    free(P); free(S); free(tps); free(pr);
    for (int k = 0; k < 13; k++) PyBuffer_Release(&b[k]);
    Py_RETURN_NONE;
fail:
    for (int k = 0; k < got; k++) PyBuffer_Release(&b[k]);
    return NULL;
}

static PyMethodDef methods[] = {
    {"curves", curves, METH_VARARGS, curves_doc},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_bootstrap_kernel",
    "Bootstrap precision/recall curves, replicate by replicate (see bootstrap.py).", -1, methods,
};

PyMODINIT_FUNC PyInit__bootstrap_kernel(void) { return PyModule_Create(&module); }
