/* Precision/recall curves of bootstrap replicates (see bootstrap.py).
 *
 * The numpy path in posebench.metrics.bootstrap._precision_recall computes, for a block of b
 * replicates, (detections x b) cumulative sums and running maxima; this kernel computes the same
 * numbers for LANES replicates side by side (one lane each, so the running sums vectorise),
 * keeping the prefix sums only where a true positive reads them. Same integers, same float64
 * operations in the same order in each lane, so the same bits (tests/test_bootstrap_kernel.py
 * compares both paths).
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
#include <string.h>

/* Replicates computed side by side (one lane each), their running sums in int32: the caller
 * guarantees (and curves() checks) that every sum of multiplicities fits. */
#define LANES 32 /* at most 32: a uint32_t holds one bit per lane */
typedef int32_t lane_t;

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

/* The replicates' loop (see curves()); compiled twice on x86-64 Linux, for AVX2 and for the
 * baseline, the better one picked at load time (the same operations either way: vector lanes
 * do per lane what scalar code does, and no contraction into FMA happens, -ffp-contract=off). */
typedef struct {
    const int32_t *counts;
    const int64_t *counted_unit, *tp_unit, *counted_before, *skip_before, *tp_off, *skip_unit,
        *skip_off, *n_r, *nd, *g, *need_at;
    double *precision, *recall, *pr;
    lane_t *cb, *Pn, *tps;
    Py_ssize_t nb, nu, n_c, n_thr, n_rec;
} Work;

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__)
__attribute__((target_clones("avx2", "default")))
#endif
static void run_blocks(const Work *w) {
    const int32_t *counts = w->counts;
    const int64_t *counted_unit = w->counted_unit, *tp_unit = w->tp_unit;
    const int64_t *counted_before = w->counted_before, *skip_before = w->skip_before;
    const int64_t *tp_off = w->tp_off, *skip_unit = w->skip_unit, *skip_off = w->skip_off;
    const int64_t *n_r = w->n_r, *nd = w->nd, *g = w->g, *need_at = w->need_at;
    double *precision = w->precision, *recall = w->recall, *pr = w->pr;
    lane_t *cb = w->cb, *Pn = w->Pn, *tps = w->tps;
    const Py_ssize_t nb = w->nb, nu = w->nu, n_c = w->n_c, n_thr = w->n_thr, n_rec = w->n_rec;
    const double eps = DBL_EPSILON; /* np.spacing(1) */
    int nr_sorted = 1;
    for (Py_ssize_t i = 0; i < nb && nr_sorted; i++)
        for (Py_ssize_t r = 1; r < n_rec; r++)
            if (n_r[i * n_rec + r] < n_r[i * n_rec + r - 1]) {
                nr_sorted = 0;
                break;
            }
for (Py_ssize_t i0 = 0; i0 < nb; i0 += LANES) {
    const Py_ssize_t nl = nb - i0 < LANES ? nb - i0 : LANES;
    for (Py_ssize_t u = 0; u < nu; u++) {
        lane_t *row = cb + u * LANES;
        for (Py_ssize_t l = 0; l < nl; l++) row[l] = counts[(i0 + l) * nu + u];
        for (Py_ssize_t l = nl; l < LANES; l++) row[l] = 0;
    }
    lane_t acc[LANES] = {0};
    for (Py_ssize_t k = 0; k <= n_c; k++) {
        if (need_at[k] >= 0) memcpy(Pn + need_at[k] * LANES, acc, sizeof acc);
        if (k == n_c) break;
        const lane_t *c = cb + counted_unit[k] * LANES;
        for (int l = 0; l < LANES; l++) acc[l] += c[l];
    }
    for (Py_ssize_t t = 0; t < n_thr; t++) {
        const Py_ssize_t j0 = tp_off[t], n_tp = tp_off[t + 1] - j0;
        for (Py_ssize_t l = 0; l < nl; l++) {
            double *prec = precision + ((i0 + l) * n_thr + t) * n_rec;
            for (Py_ssize_t r = 0; r < n_rec; r++) prec[r] = 0.0;
        }
        if (n_tp == 0) {
            for (Py_ssize_t l = 0; l < nl; l++) recall[(i0 + l) * n_thr + t] = 0.0;
            continue;
        }
        const int64_t *su = skip_unit + skip_off[t];
        lane_t tp_sum[LANES] = {0}, skipped[LANES] = {0};
        Py_ssize_t ks = 0;
        for (Py_ssize_t j = 0; j < n_tp; j++) {
            const Py_ssize_t jj = j0 + j;
            for (; ks < skip_before[jj]; ks++) {
                const lane_t *c = cb + su[ks] * LANES;
                for (int l = 0; l < LANES; l++) skipped[l] += c[l];
            }
            const lane_t *own = cb + tp_unit[jj] * LANES;
            const lane_t *P = Pn + need_at[counted_before[jj]] * LANES;
            lane_t *tj = tps + j * LANES;
            double *pj = pr + j * LANES;
            for (int l = 0; l < LANES; l++) {
                tp_sum[l] += own[l];
                const lane_t seen = P[l] + own[l] - skipped[l];
                tj[l] = tp_sum[l];
                pj[l] = (double)tp_sum[l] / ((double)seen + eps);
            }
        }
        for (Py_ssize_t j = n_tp - 1; j > 0; j--) {
            const double *hi = pr + j * LANES;
            double *lo = pr + (j - 1) * LANES;
            for (int l = 0; l < LANES; l++) lo[l] = hi[l] > lo[l] ? hi[l] : lo[l];
        }
        /* precision at recall point r: pr at the first j with tps[j] >= nr[r] (tps is
         * nondecreasing: counts are >= 0). With nr nondecreasing in r (sorted recall points),
         * one pass over j serves every lane: lane l waits for its next point, cur[l]. */
        if (nr_sorted) {
            /* cur: the next point, clamped to the lane type (a clamped point may wake its
             * lane early; the exact test below then does nothing) */
            lane_t cur[LANES];
            Py_ssize_t at[LANES];
            for (int l = 0; l < LANES; l++) {
                at[l] = 0;
                const int64_t v = (l < nl && n_rec > 0) ? n_r[(i0 + l) * n_rec] : INT64_MAX;
                cur[l] = v > INT32_MAX ? INT32_MAX : (lane_t)v;
            }
            for (Py_ssize_t j = 0; j < n_tp; j++) {
                const lane_t *tj = tps + j * LANES;
                uint32_t hit = 0;
                for (int l = 0; l < LANES; l++) hit |= (uint32_t)(tj[l] >= cur[l]) << l;
                while (hit) {
                    const int l = __builtin_ctz(hit);
                    hit &= hit - 1;
                    const int64_t *nr = n_r + (i0 + l) * n_rec;
                    double *prec = precision + ((i0 + l) * n_thr + t) * n_rec;
                    while (at[l] < n_rec && (int64_t)tj[l] >= nr[at[l]]) {
                        prec[at[l]] = pr[j * LANES + l];
                        at[l]++;
                    }
                    const int64_t v = at[l] < n_rec ? nr[at[l]] : INT64_MAX;
                    cur[l] = v > INT32_MAX ? INT32_MAX : (lane_t)v;
                }
            }
        }
        for (Py_ssize_t l = 0; l < nl; l++) {
            const Py_ssize_t i = i0 + l;
            double *prec = precision + (i * n_thr + t) * n_rec;
            const int64_t *nr = n_r + i * n_rec;
            Py_ssize_t pos = 0;
            for (Py_ssize_t r = 0; r < n_rec && !nr_sorted; r++) {
                /* the same, lane by lane, for recall points in any order */
                if (r > 0 && nr[r] < nr[r - 1]) pos = 0;
                while (pos < n_tp && tps[pos * LANES + l] < nr[r]) pos++;
                if (pos < n_tp) prec[r] = pr[pos * LANES + l];
            }
            recall[i * n_thr + t] =
                nd[i] > 0 ? (double)tp_sum[l] / (double)(g[i] > 1 ? g[i] : 1) : 0.0;
        }
    }
}
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

    for (Py_ssize_t t = 0; t < n_thr; t++) /* the walks below advance these cursors only */
        for (Py_ssize_t j = tp_off[t] + 1; j < tp_off[t + 1]; j++)
            if (counted_before[j] < counted_before[j - 1] || skip_before[j] < skip_before[j - 1]) {
                PyErr_SetString(PyExc_ValueError, "counted_before/skip_before must not decrease");
                goto fail;
            }
    /* Every running sum below is at most a replicate's total over the counted sequence (true
     * positives and skipped detections are counted ones) plus one multiplicity: check that the
     * largest such total fits the int32 lanes. */
    {
        int64_t *occ = calloc((size_t)(nu ? nu : 1), sizeof(int64_t));
        if (occ == NULL) {
            PyErr_NoMemory();
            goto fail;
        }
        for (Py_ssize_t k = 0; k < n_c; k++) occ[counted_unit[k]]++;
        int too_big = 0;
        for (Py_ssize_t i = 0; i < nb && !too_big; i++) {
            int64_t total = 0, most = 0;
            for (Py_ssize_t u = 0; u < nu; u++) {
                const int64_t c = counts[i * nu + u];
                if (c < 0) too_big = 1;
                total += c * occ[u];
                if (c > most) most = c;
            }
            if (total + most > INT32_MAX) too_big = 1;
        }
        free(occ);
        if (too_big) {
            PyErr_SetString(PyExc_ValueError, "multiplicities negative or their sums beyond int32");
            goto fail;
        }
    }
    /* The prefix sums P are needed only where some true positive reads them: mark those. */
    int64_t *need_at = malloc(sizeof(int64_t) * (size_t)(n_c + 1)); /* prefix k -> slot or -1 */
    Py_ssize_t n_need = 0;
    if (need_at == NULL) {
        PyErr_NoMemory();
        goto fail;
    }
    for (Py_ssize_t k = 0; k <= n_c; k++) need_at[k] = -1;
    for (Py_ssize_t j = 0; j < n_tp_all; j++) need_at[counted_before[j]] = 0;
    for (Py_ssize_t k = 0; k <= n_c; k++)
        if (need_at[k] == 0) need_at[k] = n_need++;
    lane_t *cb = malloc(sizeof(lane_t) * (size_t)LANES * (size_t)(nu ? nu : 1));
    lane_t *Pn = malloc(sizeof(lane_t) * (size_t)LANES * (size_t)(n_need ? n_need : 1));
    lane_t *tps = malloc(sizeof(lane_t) * (size_t)LANES * (size_t)(max_tp + 1));
    double *pr = malloc(sizeof(double) * (size_t)LANES * (size_t)(max_tp + 1));
    if (!cb || !Pn || !tps || !pr) {
        free(need_at); free(cb); free(Pn); free(tps); free(pr);
        PyErr_NoMemory();
        goto fail;
    }
    Py_BEGIN_ALLOW_THREADS
    /* Replicates in blocks of LANES, each replicate a lane: the running sums advance all lanes
     * at once (contiguous, vectorised by the compiler). Per lane, the integers and the float64
     * operations are those of one replicate, in the same order, so the bits are the same. */
    Work w = {counts, counted_unit, tp_unit, counted_before, skip_before, tp_off, skip_unit,
              skip_off, n_r, nd, g, need_at, precision, recall, pr, cb, Pn, tps,
              nb, nu, n_c, n_thr, n_rec};
    run_blocks(&w);
    Py_END_ALLOW_THREADS
    free(need_at); free(cb); free(Pn); free(tps); free(pr);
    for (int k = 0; k < 13; k++) PyBuffer_Release(&b[k]);
    Py_RETURN_NONE;
fail:
    for (int k = 0; k < got; k++) PyBuffer_Release(&b[k]);
    return NULL;
}

PyDoc_STRVAR(histogram_rows_doc,
"histogram_rows(idx, out)\n\n"
"idx (b, n) int32 or int64 unit indices in [0, U); out (b, U) int32, zeroed here: out[i, u] = how many\n"
"times row i of idx holds u (the multiplicities of resample_indices' rows; GIL released).");

static PyObject *histogram_rows(PyObject *Py_UNUSED(self), PyObject *args) {
    PyObject *oi, *oo;
    if (!PyArg_ParseTuple(args, "OO", &oi, &oo)) return NULL;
    Py_buffer bi, bo;
    if (PyObject_GetBuffer(oi, &bi, PyBUF_C_CONTIGUOUS | PyBUF_FORMAT) < 0) return NULL;
    if (bi.itemsize != 4 && bi.itemsize != 8) {
        PyErr_SetString(PyExc_TypeError, "idx: int32 or int64");
        PyBuffer_Release(&bi);
        return NULL;
    }
    if (view(oo, &bo, 4, 1, "out") < 0) { PyBuffer_Release(&bi); return NULL; }
    PyObject *result = NULL;
    if (bi.ndim != 2 || bo.ndim != 2 || bi.shape[0] != bo.shape[0]) {
        PyErr_SetString(PyExc_ValueError, "idx (b, n), out (b, U)");
        goto out;
    }
    const Py_ssize_t nb = bi.shape[0], n = bi.shape[1], nu = bo.shape[1];
    const int wide = bi.itemsize == 8;
    const int64_t *idx8 = bi.buf;
    const int32_t *idx4 = bi.buf;
    for (Py_ssize_t k = 0; k < nb * n; k++) {
        const int64_t v = wide ? idx8[k] : idx4[k];
        if (v < 0 || v >= nu) {
            PyErr_SetString(PyExc_ValueError, "index out of range");
            goto out;
        }
    }
    int32_t *o = bo.buf;
    Py_BEGIN_ALLOW_THREADS
    memset(o, 0, sizeof(int32_t) * (size_t)(nb * nu));
    for (Py_ssize_t i = 0; i < nb; i++) {
        int32_t *h = o + i * nu;
        if (wide)
            for (Py_ssize_t k = 0; k < n; k++) h[idx8[i * n + k]]++;
        else
            for (Py_ssize_t k = 0; k < n; k++) h[idx4[i * n + k]]++;
    }
    Py_END_ALLOW_THREADS
    result = Py_None;
    Py_INCREF(result);
out:
    PyBuffer_Release(&bi);
    PyBuffer_Release(&bo);
    return result;
}

PyDoc_STRVAR(row_dots_doc,
"row_dots(counts, weights, out)\n\n"
"counts (b, U') int32, weights (W, U) int64 with U <= U'; out (b, W) int64: out[i, w] = sum over\n"
"u < U of counts[i, u] * weights[w, u] (exact integers; GIL released).");

static PyObject *row_dots(PyObject *Py_UNUSED(self), PyObject *args) {
    PyObject *oc, *ow, *oo;
    if (!PyArg_ParseTuple(args, "OOO", &oc, &ow, &oo)) return NULL;
    Py_buffer bc, bw, bo;
    if (view(oc, &bc, 4, 0, "counts") < 0) return NULL;
    if (view(ow, &bw, 8, 0, "weights") < 0) { PyBuffer_Release(&bc); return NULL; }
    if (view(oo, &bo, 8, 1, "out") < 0) {
        PyBuffer_Release(&bc);
        PyBuffer_Release(&bw);
        return NULL;
    }
    PyObject *result = NULL;
    if (bc.ndim != 2 || bw.ndim != 2 || bo.ndim != 2 || bw.shape[1] > bc.shape[1] ||
        bo.shape[0] != bc.shape[0] || bo.shape[1] != bw.shape[0]) {
        PyErr_SetString(PyExc_ValueError, "counts (b, U'), weights (W, U <= U'), out (b, W)");
        goto out;
    }
    const Py_ssize_t nb = bc.shape[0], nc = bc.shape[1], nw = bw.shape[0], nu = bw.shape[1];
    const int32_t *c = bc.buf;
    const int64_t *w = bw.buf;
    int64_t *o = bo.buf;
    Py_BEGIN_ALLOW_THREADS
    for (Py_ssize_t i = 0; i < nb; i++) {
        const int32_t *row = c + i * nc;
        for (Py_ssize_t k = 0; k < nw; k++) {
            const int64_t *wk = w + k * nu;
            int64_t acc = 0;
            for (Py_ssize_t u = 0; u < nu; u++) acc += (int64_t)row[u] * wk[u];
            o[i * nw + k] = acc;
        }
    }
    Py_END_ALLOW_THREADS
    result = Py_None;
    Py_INCREF(result);
out:
    PyBuffer_Release(&bc);
    PyBuffer_Release(&bw);
    PyBuffer_Release(&bo);
    return result;
}

static PyMethodDef methods[] = {
    {"histogram_rows", histogram_rows, METH_VARARGS, histogram_rows_doc},
    {"row_dots", row_dots, METH_VARARGS, row_dots_doc},
    {"curves", curves, METH_VARARGS, curves_doc},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_bootstrap_kernel",
    "Bootstrap precision/recall curves, replicate by replicate (see bootstrap.py).", -1, methods,
};

PyMODINIT_FUNC PyInit__bootstrap_kernel(void) { return PyModule_Create(&module); }
