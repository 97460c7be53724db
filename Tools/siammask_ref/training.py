"""SiamMask training on CPU: the official losses, the two official stages, BN recalibration, the sanity evaluation.

Losses (official models/siammask.py and siammask_sharp.py, re-implemented):
- cls: the [bg x5, fg x5] channels viewed as (B, 2, 5, G, G), log-softmax over the pair, NLL averaged separately
  over the positive and the negative anchors, 0.5 * pos + 0.5 * neg (select_cross_entropy_loss);
- loc: weighted L1 (weight_l1_loss): |pred - target| summed over (dx, dy, dw, dh), times loc_weight
  (1 / #positives at the positives), summed, divided by the batch size. The official code uses plain L1 here,
  not smooth L1, so we do too;
- mask (stage 1, base head): at cells with a positive anchor, the 3969 head outputs as a 63x63 map, bilinearly
  upsampled (align_corners=True, nn.UpsamplingBilinear2d) to 127x127, soft-margin (logistic) loss against the
  127x127 window of the {-1, +1} search mask (0 = outside the crop = no gradient);
- mask (stage 2, refine): the refine module's 127x127 logits at positive cells, the same logistic loss.
Weights: siammask_base/config.json "loss.weight" = [1.0, 1.2, 36] (cls, loc, mask) for stage 1;
siammask_sharp/config.json = [0, 0, 36] for the refine stage (only the mask loss).

Stage 1 trains everything except the refine module (BN in train mode). Stage 2 (refine) freezes the backbone,
the adjust layer and the RPN (their BNs in eval mode) and trains the refine module plus the mask branch's
conv_kernel / conv_search (whose correlation feeds the refine module); the official refine training likewise
trains only the refine-related parts with the mask loss. Optimiser: AdamW with linear warm-up and cosine decay over
a step count fixed per stage at the start of the stage (estimated from the measured step time and the minutes
budget, stored in the checkpoint), so the schedule is deterministic given the seed and the step counts.
"""

import csv
import math
import time
from pathlib import Path
from typing import Dict, List, Sequence, Tuple

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .crop import average_colour, exemplar_crop, search_crop, search_side
from .model import SiamMaskSharp, batch_norms
from .pairs import PairSampler, SynthSequence, mask_box

LOSS_WEIGHTS = {"cls": 1.0, "loc": 1.2, "mask": 36.0}
MASK_CELLS_PER_SAMPLE = 4      # base-head mask windows per pair (stage 1)
REFINE_CELLS_PER_SAMPLE = 4    # refine windows per pair (stage 2)


# -- refine initialisation ----------------------------------------------------------------------------------------

def init_refine(model: SiamMaskSharp, seed: int) -> None:
    """Re-initialise the refine module for training from scratch at a small width. At width 0.25 the last refine
    stage is 1 channel wide (v0: 16 -> 4 -> 1, h0: 1 -> 1 -> 1, post2: 1 -> 1), each conv followed by a ReLU, and
    with the generic Kaiming / random-bias draw those 1-channel ReLU paths start (or quickly end up) dead, so the
    mask cannot learn. Here: the square h* convs start as identity (centre tap 1) plus N(0, 0.02) noise, every
    refine bias starts at +0.01, and post2 starts as a positive centre tap; the other weights keep their Kaiming
    draw (weights.init_weights). Deterministic (numpy PCG64 from `seed`)."""
    rng = np.random.default_rng(seed + 7919)
    refine = model.refine_model
    with torch.no_grad():
        for name, module in refine.named_modules():
            if not isinstance(module, (nn.Conv2d, nn.ConvTranspose2d)):
                continue
            module.bias.fill_(0.01)
            square = isinstance(module, nn.Conv2d) and module.in_channels == module.out_channels
            if name.startswith("h") and square:
                weight = 0.02 * rng.standard_normal(module.weight.shape)
                for c in range(module.out_channels):
                    weight[c, c, 1, 1] += 1.0
                module.weight.copy_(torch.from_numpy(weight.astype(np.float32)))
        post2 = refine.post2
        weight = 0.02 * rng.standard_normal(post2.weight.shape)
        weight[:, :, 1, 1] += 1.0 / post2.in_channels
        post2.weight.copy_(torch.from_numpy(weight.astype(np.float32)))
        post2.bias.fill_(-0.5)


@torch.no_grad()
def fit_refine_init(model: SiamMaskSharp, sampler: PairSampler, generator: torch.Generator, batches: int = 6,
                    batch: int = 16, offset: float = 4.0, logit: float = 3.0, ridge: float = 1e-2, log=print) -> None:
    """Start the refine stage from a working coarse mask instead of from noise (the narrow refine module trained
    from noise stays at the constant 'all background' solution for hundreds of steps on this CPU budget).

    The deconv's channel 0 is set to the ridge-regression map from the cell's correlation vector q3 to the
    15x15 (area-pooled) mask window scaled to +-`logit`, plus `offset` so the ReLUs of h2 / h1 / h0 (identity
    initialised by init_refine) pass it; post0 / post1 carry channel 0 through (centre tap 1), so before post2 the
    map is the nearest-upsampled 15x15 prediction; the v* skip paths are scaled down (x0.1) so they start small but
    alive; post2's centre tap and bias are then fitted by least squares to the +-`logit` targets. The refine
    training that follows trains every part, skip paths included."""
    refine = model.refine_model
    model.eval()
    xs, ys, samples = [], [], []
    for _ in range(batches):
        data = {k: torch.from_numpy(v) for k, v in sampler.batch(batch).items()}
        out = forward_train(model, data["template"], data["search"], stage=2)
        cells = pick_cells(data["mask_weight"], REFINE_CELLS_PER_SAMPLE, generator)
        if cells is None:
            continue
        windows = mask_windows(data["mask"], *cells)
        xs.append(out["corr"][cells[0], :, cells[1], cells[2]].double())
        ys.append(F.adaptive_avg_pool2d(windows, 15).flatten(1).double() * logit)
        samples.append((out, cells, windows))
    x, y = torch.cat(xs), torch.cat(ys)
    gram = x.T @ x
    gram += ridge * gram.diagonal().mean() * torch.eye(x.size(1), dtype=x.dtype)
    weight = torch.linalg.solve(gram, x.T @ y)                        # [C, 225]
    channels = refine.deconv.weight.size(1)
    deconv = refine.deconv.weight
    deconv.mul_(0.1)
    deconv[:, 0] = weight.view(-1, 15, 15).float()
    refine.deconv.bias.zero_()
    refine.deconv.bias[0] = offset
    for name in ("v0", "v1", "v2"):
        path = getattr(refine, name)
        path[2].weight.mul_(0.1)
        path[2].bias.zero_()
    for name in ("h0", "h1", "h2"):
        for conv in (getattr(refine, name)[0], getattr(refine, name)[2]):
            conv.bias.zero_()
    for post in (refine.post0, refine.post1):
        post.weight.mul_(0.05)
        post.weight[0, 0, 1, 1] = 1.0
        post.bias.zero_()
    del channels
    # post2: fit its centre tap and bias so the output matches +-logit on the window pixels.
    refine.post2.weight.zero_()
    refine.post2.weight[0, 0, 1, 1] = 1.0
    refine.post2.bias.zero_()
    pre, target = [], []
    for out, cells, windows in samples:
        z = refine_batch(refine, out["f0"], out["f1"], out["f2"], out["corr"], *cells)
        keep = windows != 0
        pre.append(z[keep].double())
        target.append(windows[keep].double() * logit)
    pre, target = torch.cat(pre), torch.cat(target)
    design = torch.stack([pre, torch.ones_like(pre)], 1)
    a, b = torch.linalg.lstsq(design, target[:, None]).solution[:, 0].tolist()
    refine.post2.weight[0, 0, 1, 1] = a
    refine.post2.bias.fill_(b)
    losses, ious = [], []
    for out, cells, windows in samples:
        loss, iou = logistic_mask_loss(refine_batch(refine, out["f0"], out["f1"], out["f2"], out["corr"], *cells),
                                       windows)
        losses.append(loss.item())
        ious.append(iou)
    log(f"refine init fitted on {x.size(0)} windows: post2 a={a:.3f} b={b:.3f}; "
        f"loss {np.mean(losses):.4f} mask IoU {np.mean(ious):.3f}")


# -- network passes ----------------------------------------------------------------------------------------------

def forward_train(model: SiamMaskSharp, template: torch.Tensor, search: torch.Tensor,
                  stage: int = 1) -> Dict[str, torch.Tensor]:
    """Stage 1: every output with gradients. Stage 2: the frozen backbone / adjust layer without gradients, then
    the mask-branch correlation (trained), no RPN."""
    with torch.set_grad_enabled(stage == 1 and torch.is_grad_enabled()):
        zf = model.features(template)
        f0, f1, f2, p3 = model.features.features(search)
        xf = model.features.downsample(p3)
    corr = model.mask_model.mask.forward_corr(zf, xf)
    out = {"corr": corr, "f0": f0, "f1": f1, "f2": f2}
    if stage == 1:
        out["cls"], out["loc"] = model.rpn_model(zf, xf)
    return out


def refine_batch(refine: nn.Module, f0, f1, f2, corr, b: torch.Tensor, r: torch.Tensor, c: torch.Tensor):
    """Refine.forward for N (sample, row, column) triples at once -> logits [N, 1, 127, 127]."""
    p0, p1, p2 = F.pad(f0, [16] * 4), F.pad(f1, [8] * 4), F.pad(f2, [4] * 4)
    items = list(zip(b.tolist(), r.tolist(), c.tolist()))
    q0 = torch.stack([p0[k, :, 4 * i:4 * i + 61, 4 * j:4 * j + 61] for k, i, j in items])
    q1 = torch.stack([p1[k, :, 2 * i:2 * i + 31, 2 * j:2 * j + 31] for k, i, j in items])
    q2 = torch.stack([p2[k, :, i:i + 15, j:j + 15] for k, i, j in items])
    q3 = corr[b, :, r, c][:, :, None, None]
    u = refine.deconv(q3)
    u = refine.post0(F.interpolate(refine.h2(u) + refine.v2(q2), size=(31, 31), mode="nearest"))
    u = refine.post1(F.interpolate(refine.h1(u) + refine.v1(q1), size=(61, 61), mode="nearest"))
    return refine.post2(F.interpolate(refine.h0(u) + refine.v0(q0), size=(127, 127), mode="nearest"))


def mask_head_batch(model: SiamMaskSharp, corr: torch.Tensor, b, r, c) -> torch.Tensor:
    """The 3969-channel mask head at N cells only (its last 1x1 conv as a linear map) -> [N, 1, 127, 127] logits."""
    head = model.mask_model.mask.head
    hidden = head[2](head[1](head[0](corr)))          # BN over the whole map, as in the full head
    final = head[3]
    out = F.linear(hidden[b, :, r, c], final.weight.flatten(1), final.bias)
    return F.interpolate(out.view(-1, 1, 63, 63), size=(127, 127), mode="bilinear", align_corners=True)


def mask_windows(label_mask: torch.Tensor, b, r, c) -> torch.Tensor:
    """127x127 windows of the {-1,+1} search mask at cells (r, c): top-left (8c - 32, 8r - 32); zero outside."""
    padded = F.pad(label_mask, [32] * 4)
    return torch.stack([padded[k, 0, 8 * i:8 * i + 127, 8 * j:8 * j + 127]
                        for k, i, j in zip(b.tolist(), r.tolist(), c.tolist())])[:, None]


def pick_cells(mask_weight: torch.Tensor, per_sample: int, generator: torch.Generator):
    """Up to per_sample random cells with mask_weight 1 from each sample -> (b, r, c) index tensors."""
    picked = []
    for k in range(mask_weight.size(0)):
        cells = torch.nonzero(mask_weight[k] > 0)
        if len(cells) == 0:
            continue
        order = torch.randperm(len(cells), generator=generator)[:per_sample]
        for i, j in cells[order].tolist():
            picked.append((k, i, j))
    if not picked:
        return None
    t = torch.tensor(picked, dtype=torch.long)
    return t[:, 0], t[:, 1], t[:, 2]


# -- losses ------------------------------------------------------------------------------------------------------

def cls_loss(cls: torch.Tensor, label: torch.Tensor) -> torch.Tensor:
    b, _, h, w = cls.shape
    logp = F.log_softmax(cls.view(b, 2, 5, h, w), dim=1)       # [bg x5, fg x5] grouping
    logp = logp.permute(0, 2, 3, 4, 1).reshape(-1, 2)
    label = label.reshape(-1)
    total = cls.sum() * 0
    for value in (1, 0):
        chosen = label == value
        if chosen.any():
            total = total + 0.5 * F.nll_loss(logp[chosen], label[chosen])
    return total


def loc_loss(loc: torch.Tensor, target: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    b, _, h, w = loc.shape
    diff = (loc.view(b, 4, 5, h, w) - target).abs().sum(dim=1)  # channel 5k + a
    return (diff * weight).sum() / b


def logistic_mask_loss(logits: torch.Tensor, windows: torch.Tensor) -> Tuple[torch.Tensor, float]:
    """Soft-margin loss averaged over all window pixels (label 0 contributes a constant log 2, as the official
    zero padding of F.unfold does) and the mean IoU of (logit >= 0) vs (label == 1)."""
    loss = F.soft_margin_loss(logits.flatten(1), windows.flatten(1))
    with torch.no_grad():
        pred, gt = logits.flatten(1) >= 0, windows.flatten(1) > 0
        iou = ((pred & gt).sum(1).float() / (pred | gt).sum(1).clamp_min(1).float()).mean().item()
    return loss, iou


# -- schedule / checkpoint ---------------------------------------------------------------------------------------

def lr_at(step: int, total: int, base: float, warmup: int = 50, floor: float = 0.02) -> float:
    if step < warmup:
        return base * (0.1 + 0.9 * step / warmup)
    progress = min(1.0, (step - warmup) / max(1, total - warmup))
    return base * (floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * progress)))


def set_stage(model: SiamMaskSharp, stage: int) -> List[nn.Parameter]:
    """Train / eval modes and requires_grad for a stage; returns the parameters to optimise."""
    model.train()
    for p in model.parameters():
        p.requires_grad_(False)
    if stage == 1:
        trainable = [model.features, model.rpn_model, model.mask_model]
    else:
        trainable = [model.refine_model, model.mask_model.mask.conv_kernel, model.mask_model.mask.conv_search]
        model.features.eval()
        model.rpn_model.eval()
        model.mask_model.mask.head.eval()
    params = []
    for module in trainable:
        for p in module.parameters():
            p.requires_grad_(True)
            params.append(p)
    return params


def make_optimizer(params, lr: float) -> torch.optim.Optimizer:
    return torch.optim.AdamW(params, lr=lr, betas=(0.9, 0.999), weight_decay=1e-4)


class Trainer:
    """One training run: stage 1 then stage 2, time-budgeted, checkpointed, resumable."""

    def __init__(self, model: SiamMaskSharp, sampler: PairSampler, out: Path, seed: int, minutes: float,
                 batch: int = 16, lr: float = 1e-3, refine_share: float = 0.22, log=print, weights: dict = None,
                 refine_lr: float = 1e-3):
        self.refine_lr, self.seed = refine_lr, seed
        self.weights = dict(weights or LOSS_WEIGHTS)
        self.model, self.sampler, self.out = model, sampler, Path(out)
        self.batch, self.lr, self.minutes, self.refine_share = batch, lr, minutes, refine_share
        self.log = log
        self.generator = torch.Generator().manual_seed(seed)
        self.state = {"stage": 1, "step": 0, "total": None, "elapsed": 0.0, "stage_elapsed": 0.0,
                      "steps_done": {}}
        self.params = set_stage(model, 1)
        self.optimizer = make_optimizer(self.params, lr)
        self.out.mkdir(parents=True, exist_ok=True)
        self.checkpoint_path = self.out / "checkpoint.pth"
        self.log_path = self.out / "log.csv"

    # checkpoint ------------------------------------------------------------------------------------------------
    def save(self) -> None:
        payload = {"model": self.model.state_dict(), "optimizer": self.optimizer.state_dict(), "state": self.state,
                   "sampler_rng": self.sampler.rng.bit_generator.state, "torch_rng": torch.get_rng_state(),
                   "generator": self.generator.get_state()}
        tmp = self.checkpoint_path.with_suffix(".tmp")
        torch.save(payload, tmp)
        tmp.replace(self.checkpoint_path)

    def resume(self) -> bool:
        if not self.checkpoint_path.exists():
            return False
        payload = torch.load(self.checkpoint_path, map_location="cpu")
        self.model.load_state_dict(payload["model"])
        self.state = payload["state"]
        self.params = set_stage(self.model, self.state["stage"])
        self.optimizer = make_optimizer(self.params, self.lr)
        self.optimizer.load_state_dict(payload["optimizer"])
        self.sampler.rng.bit_generator.state = payload["sampler_rng"]
        torch.set_rng_state(payload["torch_rng"])
        self.generator.set_state(payload["generator"])
        self.log(f"resumed: stage {self.state['stage']} step {self.state['step']} elapsed "
                 f"{self.state['elapsed'] / 60:.1f} min")
        return True

    def _write_log(self, row: Dict) -> None:
        new = not self.log_path.exists()
        with self.log_path.open("a", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=list(row))
            if new:
                writer.writeheader()
            writer.writerow(row)

    # steps -----------------------------------------------------------------------------------------------------
    def _step(self, data: Dict[str, torch.Tensor]) -> Dict[str, float]:
        stage = self.state["stage"]
        out = forward_train(self.model, data["template"], data["search"], stage)
        stats = {}
        if stage == 1:
            lc = cls_loss(out["cls"], data["cls"])
            ll = loc_loss(out["loc"], data["loc"], data["loc_weight"])
            cells = pick_cells(data["mask_weight"], MASK_CELLS_PER_SAMPLE, self.generator)
            if cells is not None:
                lm, iou = logistic_mask_loss(mask_head_batch(self.model, out["corr"], *cells),
                                             mask_windows(data["mask"], *cells))
            else:
                lm, iou = out["corr"].sum() * 0, float("nan")
            loss = self.weights["cls"] * lc + self.weights["loc"] * ll + self.weights["mask"] * lm
            stats.update(cls=lc.item(), loc=ll.item(), mask=lm.item(), mask_iou=iou)
            with torch.no_grad():  # anchor accuracy on the labelled anchors
                b, _, h, w = out["cls"].shape
                fg = out["cls"].view(b, 2, 5, h, w).argmax(1)
                lab = data["cls"]
                stats["acc_pos"] = (fg[lab == 1] == 1).float().mean().item() if (lab == 1).any() else float("nan")
                stats["acc_neg"] = (fg[lab == 0] == 0).float().mean().item() if (lab == 0).any() else float("nan")
        else:
            cells = pick_cells(data["mask_weight"], REFINE_CELLS_PER_SAMPLE, self.generator)
            if cells is None:
                return {}
            logits = refine_batch(self.model.refine_model, out["f0"], out["f1"], out["f2"], out["corr"], *cells)
            lm, iou = logistic_mask_loss(logits, mask_windows(data["mask"], *cells))
            loss = self.weights["mask"] * lm
            stats.update(refine=lm.item(), mask_iou=iou)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(self.params, 10.0)
        self.optimizer.step()
        stats["loss"] = loss.item()
        return stats

    def _batch(self) -> Dict[str, torch.Tensor]:
        arrays = self.sampler.batch(self.batch)
        return {k: torch.from_numpy(v) for k, v in arrays.items()}

    def run(self, checkpoint_seconds: float = 300.0, fixed_steps: Dict[int, int] = None,
            stop_steps: Dict[int, int] = None) -> None:
        """fixed_steps: {stage: schedule length} instead of the measured estimate; stop_steps: {stage: step} to end
        a stage early at a step (as the time guard of a logged run did) while keeping its schedule length."""
        budget = {1: self.minutes * 60 * (1 - self.refine_share), 2: self.minutes * 60 * self.refine_share}
        last_checkpoint = time.time()
        while self.state["stage"] <= 2:
            stage = self.state["stage"]
            start = time.time() - self.state["stage_elapsed"]
            window, window_start = [], time.time()
            while True:
                step = self.state["step"]
                if self.state["total"] is None and fixed_steps and stage in fixed_steps:
                    self.state["total"] = fixed_steps[stage]
                if self.state["total"] is not None and step >= self.state["total"]:
                    break
                if stop_steps and stage in stop_steps and step >= stop_steps[stage]:
                    break
                if not fixed_steps and self.state["stage_elapsed"] > 1.08 * budget[stage]:
                    # The machine got slower than measured: end the stage on time (the log keeps the step count;
                    # `--steps` reproduces the run).
                    self.log(f"stage {stage}: time budget reached at step {step} of {self.state['total']}")
                    break
                total_for_lr = self.state["total"] or 10 ** 9
                for group in self.optimizer.param_groups:
                    group["lr"] = (lr_at(step, total_for_lr, self.lr) if stage == 1 else
                                   lr_at(step, total_for_lr, self.refine_lr, warmup=20))
                t0 = time.time()
                stats = self._step(self._batch())
                dt = time.time() - t0
                self.state["step"] = step + 1
                self.state["stage_elapsed"] = time.time() - start
                self.state["elapsed"] += dt
                window.append(dt)
                if self.state["total"] is None and step + 1 == 30:
                    # Fix this stage's step count from the measured speed (median of steps 10..29).
                    per_step = float(np.median(window[10:]))
                    remaining = budget[stage] - self.state["stage_elapsed"]
                    self.state["total"] = int(step + 1 + max(10, remaining / per_step))
                    self.log(f"stage {stage}: {per_step:.2f} s/step -> {self.state['total']} steps")
                row = {"stage": stage, "step": step, "time_s": round(self.state["stage_elapsed"], 1),
                       "lr": f"{self.optimizer.param_groups[0]['lr']:.6f}", "loss": stats.get("loss", float("nan")),
                       "cls": stats.get("cls", ""), "loc": stats.get("loc", ""), "mask": stats.get("mask", ""),
                       "refine": stats.get("refine", ""), "mask_iou": stats.get("mask_iou", ""),
                       "acc_pos": stats.get("acc_pos", ""), "acc_neg": stats.get("acc_neg", "")}
                self._write_log(row)
                if step % 20 == 0:
                    self.log(" ".join(f"{k}={v:.4f}" if isinstance(v, float) else f"{k}={v}"
                                      for k, v in row.items()))
                if time.time() - last_checkpoint > checkpoint_seconds:
                    self.save()
                    last_checkpoint = time.time()
            self.state["steps_done"][stage] = self.state["step"]
            self.log(f"stage {stage} done: {self.state['step']} steps, {self.state['stage_elapsed'] / 60:.1f} min")
            self.state.update(stage=stage + 1, step=0, total=None, stage_elapsed=0.0)
            if self.state["stage"] == 2:
                init_refine(self.model, self.seed)
                fit_refine_init(self.model, self.sampler, self.generator, log=self.log)
            if self.state["stage"] <= 2:
                self.params = set_stage(self.model, self.state["stage"])
                self.optimizer = make_optimizer(self.params, self.lr)
            self.save()
            last_checkpoint = time.time()
        self.model.eval()


# -- tracker-style crops, BN calibration and the sanity evaluation ----------------------------------------------

def tracker_pairs(sequences: Sequence[SynthSequence], per_sequence: int, rng: np.random.Generator):
    """Tracker-style crops: exemplar of frame 0 (init), search of frame t around the ground truth of frame t - 1,
    padded with frame 0's average colour. Returns (exemplars, searches, [(sequence index, t)])."""
    exemplars, searches, where = [], [], []
    for n, sequence in enumerate(sequences):
        first = sequence.image(0)
        avg = average_colour(first)
        box0 = mask_box(sequence.mask(0))
        if box0 is None:
            continue
        exemplar = exemplar_crop(first, box0[:2], box0[2:], avg)
        frames = rng.choice(np.arange(1, len(sequence)), size=min(per_sequence, len(sequence) - 1), replace=False)
        for t in sorted(frames.tolist()):
            prev = mask_box(sequence.mask(t - 1))
            if prev is None:
                continue
            exemplars.append(exemplar)
            searches.append(search_crop(sequence.image(t), prev[:2], prev[2:], avg))
            where.append((n, t))
    return np.concatenate(exemplars), np.concatenate(searches), where


@torch.no_grad()
def sanity_eval(model: SiamMaskSharp, sequences: Sequence[SynthSequence]) -> Dict[str, float]:
    """Per frame t >= 1: exemplar from frame 0, search crop of frame t around the ground truth of frame t - 1 (the
    tracker's crop); the argmax foreground anchor cell vs the cell nearest to the true centre of frame t.
    Returns the fraction within 2 cells (Chebyshev distance) and within 1 cell, and the frame count."""
    model.eval()
    hits2 = hits1 = count = 0
    for sequence in sequences:
        first = sequence.image(0)
        avg = average_colour(first)
        box0 = mask_box(sequence.mask(0))
        zf = model.features(torch.from_numpy(exemplar_crop(first, box0[:2], box0[2:], avg)))
        for t in range(1, len(sequence)):
            prev, cur = mask_box(sequence.mask(t - 1)), mask_box(sequence.mask(t))
            if prev is None or cur is None:
                continue
            x = torch.from_numpy(search_crop(sequence.image(t), prev[:2], prev[2:], avg))
            f0, f1, f2, p3 = model.features.features(x)
            cls, _ = model.rpn_model(zf, model.features.downsample(p3))
            fg = F.softmax(cls.view(1, 2, 5, 25, 25), dim=1)[0, 1]
            _, i, j = np.unravel_index(int(fg.flatten().argmax()), (5, 25, 25))
            side = search_side(prev[2:])[1]
            x_min = round(prev[0] - (side + 1) / 2)
            y_min = round(prev[1] - (side + 1) / 2)
            u = (cur[0] - x_min) * 255 / side - 0.5
            v = (cur[1] - y_min) * 255 / side - 0.5
            tj, ti = (u - 31) / 8, (v - 31) / 8
            distance = max(abs(i - ti), abs(j - tj))
            hits2 += distance <= 2
            hits1 += distance <= 1
            count += 1
    return {"within2": hits2 / max(1, count), "within1": hits1 / max(1, count), "frames": count}


def bn_summary(model: SiamMaskSharp) -> Dict[str, float]:
    """Range of BN running statistics (sanity check of the saved buffers)."""
    means = torch.cat([bn.running_mean.abs() for _, bn in batch_norms(model)])
    vars_ = torch.cat([bn.running_var for _, bn in batch_norms(model)])
    return {"max|mean|": means.max().item(), "min var": vars_.min().item(), "max var": vars_.max().item(),
            "finite": bool(torch.isfinite(means).all() and torch.isfinite(vars_).all())}
