"""Seeded predictions around a real ground truth (test helper): noise, duplicates, swaps,
misses, false positives, score ties, all-zero keypoint scores, >20 detections per image."""

from __future__ import annotations

from typing import Any

import numpy as np


def noisy_predictions(gt: dict[str, Any], seed: int, *, bbox: bool = False) -> list[dict[str, Any]]:
    rng = np.random.default_rng(seed)
    k = len(gt["annotations"][0]["keypoints"]) // 3
    sizes = {im["id"]: (im.get("width", 640), im.get("height", 480)) for im in gt["images"]}
    out: list[dict[str, Any]] = []

    def emit(image_id: int, kp: np.ndarray, score: float) -> None:
        rec: dict[str, Any] = {
            "image_id": image_id,
            "category_id": 1,
            "keypoints": np.round(kp, 2).ravel().tolist(),
            "score": score,
        }
        if bbox:
            x0, y0 = kp[:, 0].min(), kp[:, 1].min()
            rec["bbox"] = [
                float(x0),
                float(y0),
                float(kp[:, 0].max() - x0),
                float(kp[:, 1].max() - y0),
            ]
        out.append(rec)

    def score() -> float:
        s = rng.random()
        return float(np.round(s, 2) if rng.random() < 0.5 else s)  # many exact ties

    for a in gt["annotations"]:
        kp = np.asarray(a["keypoints"], float).reshape(k, 3)
        x, y, w, h = a["bbox"]
        if a.get("iscrowd") or (kp[:, 2] > 0).sum() == 0:
            if rng.random() < 0.4:  # detections inside crowd regions / unlabeled people
                pts = np.c_[
                    rng.uniform(x, x + w + 1, k), rng.uniform(y, y + h + 1, k), rng.random(k)
                ]
                emit(a["image_id"], pts, score())
            continue
        if rng.random() < 0.1:
            continue  # a miss
        for _ in range(rng.integers(1, 4)):  # duplicates
            noise = np.sqrt(max(w * h, 1.0)) * rng.choice([0.01, 0.03, 0.08, 0.2])
            pts = kp.copy()
            pts[:, :2] += rng.normal(0, noise, (k, 2))
            pts[:, 2] = rng.random(k)
            if rng.random() < 0.05:
                pts[:, 2] = 0.0  # all-zero keypoint scores
            if rng.random() < 0.1:  # left/right swap of the first pairs
                pts[[0, 1, 2, 3]] = pts[[1, 0, 3, 2]]
            emit(a["image_id"], pts, score())
    img_ids = [im["id"] for im in gt["images"]]
    for _ in range(len(gt["annotations"]) // 3):  # far and near false positives
        iid = img_ids[rng.integers(len(img_ids))]
        wdt, hgt = sizes[iid]
        c = rng.uniform([0, 0], [wdt, hgt])
        pts = np.c_[c + rng.normal(0, 30, (k, 2)), rng.random(k)]
        emit(iid, pts, float(rng.random() * 0.5))
    for iid in img_ids[:3]:  # images with more than 20 detections
        wdt, hgt = sizes[iid]
        for _ in range(27):
            c = rng.uniform([0, 0], [wdt, hgt])
            emit(iid, np.c_[c + rng.normal(0, 20, (k, 2)), rng.random(k)], score())
    order = rng.permutation(len(out))
    return [out[i] for i in order]
