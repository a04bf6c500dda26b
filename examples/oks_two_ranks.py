"""Stream predictions into OKSAveragePrecision on several ranks; get pycocotools' numbers.

torchrun --standalone --nproc-per-node 2 examples/oks_two_ranks.py
"""

import json

import torch.distributed as dist

from posebench.formats.coco import read_gt, read_results
from posebench.metrics.stateful import OKSAveragePrecision, coco_updates
from posebench.samples import sample_path

dist.init_process_group("gloo")  # torchrun sets rank and world size
gt = read_gt(sample_path("coco-val2017-4"))  # stand-ins for your loader and model
dets = read_results(sample_path("coco-val2017-4-results"), gt)
metric = OKSAveragePrecision()  # mode="crowdpose" for CrowdPose
for i, (preds, target) in enumerate(coco_updates(dets, gt.poses, gt.images)):
    if i % dist.get_world_size() == dist.get_rank():  # each rank sees its share
        metric.update([preds], [target])  # lists of per-image dicts (numpy or torch)
metric.sync()  # all_gather_object of the columnar state
if dist.get_rank() == 0:
    print(json.dumps(metric.compute()))  # pycocotools 2.0.11: AP 0.86089...
dist.destroy_process_group()
