"""The training engine: one loop for every modality, the CLI, the UI and the tests.

``fit(model, train, val, config, callbacks, cancel)`` trains a :class:`SiameseModel` on
class-labelled or unlabelled :class:`Samples` (in-batch pairs/triplets from m-per-class
batches; unlabelled items become their own class with two augmented views) or on explicit
:class:`PairSet` pairs. It reports through callbacks and never prints or plots.
"""
from __future__ import annotations

import copy
import platform
import random
import threading
import time
from dataclasses import asdict, dataclass, field
from typing import Any, Callable, Sequence

import numpy as np
import torch

from . import distributed as dist_
from . import evaluate as ev
from .augment import AugmentConfig, build_augmentation
from .distances import pair_distance, round_distances
from .errors import DataError
from .limits import AUTO_OR_AT_LEAST
from .losses import CLASS_LOSSES, LOSSES, CoSENTLoss, ContrastiveLoss, CosFaceLoss, PairBCELoss, TripletLoss
from .pairs import MPerClassSampler, PairSet, Samples, in_batch_pairs, make_pairs, mine_triplets
from .rng import RunRandom, seeded
from .siamese import SiameseModel

OPTIMIZERS = ("adam", "adamw", "sgd")
MIN_BATCH = AUTO_OR_AT_LEAST["batch_size"]  # the smallest batch that still holds a pair or a triplet to learn from


@dataclass
class TrainConfig:
    """Training settings. The defaults are those of a first fine-tune (siamese_demo.settings derives
    the form, the CLI flags and the README's table from these fields); the recipes set theirs."""
    loss: str = "contrastive"          # "contrastive", "triplet", "bce", "cosent" (graded pairs; no margin) or
    #                                    "cosface" (class labels: a softmax over learned class directions)
    margin: float | None = None        # None: 1.0 (contrastive, euclidean), 0.5 (cosine), 0.2 (triplet, cosface)
    mining: str = "semihard"           # triplets: "random", "semihard", "hard"
    batch_size: int = 32
    m_per_class: int = 4               # class-labelled data: samples per class in a batch
    epochs: int = 200                  # at most; with a time budget the budget usually ends the run
    steps_per_epoch: int | None = None  # None: about one pass over the training data
    optimizer: str = "adamw"
    lr: float = 1e-3
    weight_decay: float = 1e-4         # L2 regularisation
    momentum: float = 0.9              # SGD only
    warmup_steps: int = 0              # linear learning-rate warm-up over the first steps (0: none)
    lr_patience: int = 4               # ReduceLROnPlateau on validation loss, in evaluations
    lr_factor: float = 0.5
    min_lr: float = 1e-6
    early_stopping_patience: int = 8   # evaluations without improvement of `monitor`; 0 disables
    monitor: str = "val_loss"          # what early stopping / best weights follow: val_loss, val_auc, val_spearman
    time_budget_s: float | None = 120.0  # None: no limit
    evals_per_epoch: int = 0           # validations per epoch, evenly spaced; 0: up to 4 (as many as the steps)
    monitor_smoothing: float = 0.5     # the monitor as a moving average (weight of the past; 0: raw)
    min_budget_share: float = 0.5      # early stopping waits for this share of the time budget ...
    min_evals: int = 8                 # ... and for this many validations
    grad_clip: float | None = 5.0
    frozen_blocks: int = 0             # a pretrained base's first blocks kept fixed (cheaper steps; see freeze_early)
    seed: int = 0
    augment: AugmentConfig = field(default_factory=AugmentConfig)
    threshold_policy: str = "max_accuracy"
    target_far: float = 0.01
    val_pairs: int = 1000              # validation pairs built from class-labelled samples
    device: str = "auto"               # "auto": the GPU when one is present (bf16 autocast), else the CPU

    def resolved_margin(self, distance: str) -> float:
        if self.margin is not None:
            return float(self.margin)
        if self.loss in CLASS_LOSSES:
            return 0.2
        return 0.5 if distance == "cosine" else 1.0

    def validate(self) -> None:
        if self.loss not in LOSSES:
            raise ValueError(f"loss must be one of {LOSSES}")
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(f"optimizer must be one of {OPTIMIZERS}")
        if self.threshold_policy not in ev.POLICIES:
            raise ValueError(f"threshold_policy must be one of {ev.POLICIES}")
        if self.monitor not in ("val_loss", "val_auc", "val_spearman"):
            raise ValueError("monitor must be val_loss, val_auc or val_spearman")
        if self.batch_size < MIN_BATCH or self.epochs < 1 or self.lr <= 0:
            raise ValueError(f"need batch_size >= {MIN_BATCH}, epochs >= 1 and lr > 0")
        if self.frozen_blocks < 0:
            raise ValueError("frozen_blocks must be 0 or more")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


# the schedule the shipped models' recipes were trained with: one validation per epoch, patience in
# epochs, the raw monitor, early stopping at any time (their recipes pass it, so they repeat their numbers)
PER_EPOCH = dict(evals_per_epoch=1, monitor_smoothing=0.0, min_budget_share=0.0, min_evals=0)


@dataclass
class TrainEvent:
    kind: str          # start, step, epoch, lr_drop, early_stop, time_budget, cancelled, end
    epoch: int
    step: int
    data: dict[str, Any]


@dataclass
class TrainResult:
    model: SiameseModel
    history: list[dict[str, Any]]
    record: dict[str, Any]
    best_epoch: int
    stopped: str       # "completed", "early_stop", "time_budget", "cancelled"
    # the run's validation pairs: their labels, the distances before training ("first") and those of the
    # kept weights ("best"); finetune reuses them instead of embedding the validation split again
    validation: dict[str, np.ndarray] | None = None


Callback = Callable[[TrainEvent], None]


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % (2**32))
    torch.manual_seed(seed)


def freeze_early(encoder: torch.nn.Module, k: int) -> list[torch.nn.Parameter]:
    """Keep the encoder's input side fixed up to its ``k``-th block (``encoder.early_blocks``); returns the
    parameters this turned off, for the caller to turn on again. Their gradients are never computed, so a
    step costs less (the backward pass stops there) and what pretraining learned there stays."""
    if not k:
        return []
    blocks = getattr(encoder, "early_blocks", None)
    if blocks is None:
        raise DataError(f"frozen blocks: a {type(encoder).__name__} has no blocks to freeze; set it to 0")
    try:
        modules = blocks(k)
    except ValueError as e:
        raise DataError(f"frozen blocks: {e}; set it to 0") from None
    params = [p for m in modules for p in m.parameters() if p.requires_grad]
    for p in params:
        p.requires_grad_(False)
    if not any(p.requires_grad for p in encoder.parameters()):
        for p in params:
            p.requires_grad_(True)
        raise DataError(f"frozen blocks: {k} would leave no layer of this base to train; choose fewer")
    return params


def make_optimizer(model: torch.nn.Module, cfg: TrainConfig) -> torch.optim.Optimizer:
    params = [p for p in model.parameters() if p.requires_grad]
    if cfg.optimizer == "adam":
        return torch.optim.Adam(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
    if cfg.optimizer == "adamw":
        return torch.optim.AdamW(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
    return torch.optim.SGD(params, lr=cfg.lr, momentum=cfg.momentum, weight_decay=cfg.weight_decay)


def samples_per_class(cfg: TrainConfig, labels: np.ndarray) -> int:
    """m of the m-per-class batches: ``cfg.m_per_class``, or more when there are few classes, so
    that a batch still holds ``batch_size`` items (at most half a batch per class)."""
    half = cfg.batch_size // 2
    return max(min(cfg.m_per_class, half), min(cfg.batch_size // len(np.unique(labels)), half))


class _Data:
    """Pre-processed tensors and the batches/validation sets built from them."""

    def __init__(self, model: SiameseModel, train, val, cfg: TrainConfig):
        self.model, self.cfg = model, cfg
        self.pairs_mode = isinstance(train, PairSet)
        self.sampler: MPerClassSampler | None = None
        self.pair_lengths: np.ndarray | None = None  # pairs of token ids or series: their lengths, to batch by
        aug_cfg = cfg.augment
        if not self.pairs_mode and train.labels is None and not aug_cfg.enabled:
            aug_cfg = AugmentConfig(**{**aug_cfg.to_dict(), "enabled": True})  # views need augmentation
        pre = model.preprocessor
        norm = dict(image_size=getattr(pre, "size", 64), image_mean=getattr(pre, "mean", 0.0),
                    image_std=getattr(pre, "std", 1.0))
        self.augment = build_augmentation(model.modality, aug_cfg, **norm)
        self.view = build_augmentation(model.modality, AugmentConfig(**{**aug_cfg.to_dict(), "enabled": True}), **norm)
        if self.pairs_mode:
            if cfg.loss in CLASS_LOSSES:
                raise DataError(f"{cfg.loss} loss needs class labels (a text,label file or class folders), "
                                "not explicit pairs; choose contrastive or binary cross-entropy")
            self.ta, self.tb = model.prepare(train.a), model.prepare(train.b)
            self.ty = torch.as_tensor(train.labels, dtype=torch.float32)
            lengths = np.array([max(len(a), len(b)) for a, b in zip(self.ta, self.tb)])
            variable = model.modality in ("text", "timeseries") and len(lengths) and lengths.min() < lengths.max()
            self.pair_lengths = lengths if variable else None
        else:
            self.tx = model.prepare(train.items, train.names)
            self.labels = train.label_ids()
            if train.labels is not None:
                self.sampler = MPerClassSampler(self.labels, samples_per_class(cfg, self.labels), cfg.batch_size,
                                                cfg.seed + dist_.rank())
            else:
                if len(train) < 2:
                    raise DataError("need at least two samples to train")
        self._build_val(val)

    def _aug(self, t: torch.Tensor) -> torch.Tensor:
        return self.augment(t) if self.augment is not None else t

    def _build_val(self, val) -> None:
        """Validation pairs as indices into ``self.vpool`` (each distinct tensor once, so validation embeds it
        once however many pairs it is in): ``vi``, ``vj`` the pairs, ``vneg`` a negative per pair (triplet loss)."""
        gen = torch.Generator().manual_seed(self.cfg.seed + 1)
        with seeded(self.cfg.seed + 1):  # the augmented views of unlabelled data
            if isinstance(val, PairSet):
                n = len(val)
                self.vpool = self.model.prepare(val.a) + self.model.prepare(val.b)
                self.vi, self.vj = np.arange(n), n + np.arange(n)
                self.vy = np.asarray(val.labels, dtype=np.float32)
                self.v_graded = val.graded
                self.vneg = None
            elif val.labels is not None:
                self.vpool, labels = self.model.prepare(val.items, val.names), val.label_ids()
                self.vi, self.vj, self.vy = make_pairs(labels, self.cfg.val_pairs, seed=self.cfg.seed + 1)
                # a negative for each pair, for the triplet validation loss
                rng = np.random.default_rng(self.cfg.seed + 2)
                self.vneg = np.array([rng.choice(np.flatnonzero(labels != labels[k])) for k in self.vi], dtype=int)
                self.v_graded = False
            else:
                tx = self.model.prepare(val.items, val.names)
                if len(tx) < 2:
                    raise DataError("validation needs at least two samples")
                n = len(tx)
                other = (np.arange(n) + 1 + torch.randint(n - 1, (n,), generator=gen).numpy()) % n
                views = [self.view(t) for t in tx] + [self.view(tx[k]) for k in other]
                negatives = [self.view(tx[k]) for k in other]
                self.vpool = tx + views + negatives
                self.vi, self.vj = np.r_[np.arange(n), np.arange(n)], n + np.arange(2 * n)
                self.vy = np.concatenate([np.ones(n), np.zeros(n)]).astype(np.float32)
                self.vneg = np.r_[3 * n + np.arange(n), 3 * n + np.arange(n)]  # only the positive rows' are used
                self.v_graded = False

    def steps(self) -> int:
        if self.cfg.steps_per_epoch:
            return self.cfg.steps_per_epoch
        n = len(self.ta) if self.pairs_mode else len(self.tx)
        return max(1, int(np.ceil(n / (self.cfg.batch_size * dist_.world_size()))))

    def batches(self, rng: np.random.Generator):
        """Yield training batches for one epoch."""
        cfg = self.cfg
        if self.pairs_mode:
            n = len(self.ta)
            order = rng.permutation(n)
            if self.pair_lengths is not None:
                # group by length: each run of 8 batches of the shuffled pairs is sorted by length and cut into
                # batches, which are then shuffled, so that a batch pads little (most of a text step is padding
                # otherwise) and still holds pairs from anywhere in the data
                span = 8 * cfg.batch_size
                order = np.concatenate([part[np.argsort(self.pair_lengths[part], kind="stable")]
                                        for part in np.split(order, range(span, n, span))])
                cut = [order[s: s + cfg.batch_size] for s in range(0, n, cfg.batch_size)]
                cut = [cut[k] for k in rng.permutation(len(cut))]
            for s in range(self.steps()):
                idx = (cut[s % len(cut)] if self.pair_lengths is not None
                       else order[(s * cfg.batch_size) % n:][: cfg.batch_size])
                if len(idx) < 2:
                    idx = rng.choice(n, size=min(n, cfg.batch_size), replace=False)
                items = [self._aug(self.ta[k]) for k in idx] + [self._aug(self.tb[k]) for k in idx]
                yield items, self.ty[idx]
        elif self.sampler is not None:
            it = iter(self.sampler)
            for _ in range(self.steps()):
                try:
                    idx = next(it)
                except StopIteration:
                    it = iter(self.sampler)
                    idx = next(it)
                yield [self._aug(self.tx[k]) for k in idx], torch.as_tensor(self.labels[idx])
        else:  # unlabelled: two augmented views per item, the item is its own class
            n = len(self.tx)
            k = max(2, min(n, cfg.batch_size // 2))
            for _ in range(self.steps()):
                idx = rng.choice(n, size=k, replace=False)
                items = [self.view(self.tx[j]) for j in idx] + [self.view(self.tx[j]) for j in idx]
                yield items, torch.as_tensor(np.concatenate([idx, idx]))


def _loss_for_labels(model, emb, labels, cfg, losses, margin):
    """In-batch loss for class-labelled batches."""
    if cfg.loss == "cosface":
        return losses["cosface"](emb, labels.to(emb.device))
    if cfg.loss == "triplet":
        trip = mine_triplets(emb, labels, cfg.mining, margin, model.distance)
        if len(trip) == 0:
            return None
        return losses["triplet"](emb[trip[:, 0]], emb[trip[:, 1]], emb[trip[:, 2]])
    i, j, y = in_batch_pairs(labels)
    if len(i) == 0:
        return None
    if cfg.loss == "bce":
        return losses["bce"](model.pair_logits(emb[i], emb[j]), y)
    return losses[cfg.loss](pair_distance(emb[i], emb[j], model.distance), y)


def _loss_for_pairs(model, ea, eb, y, cfg, losses):
    if cfg.loss == "bce":
        return losses["bce"](model.pair_logits(ea, eb), y)
    # CosFace's classes are those of the training split: validation pairs get the contrastive loss
    return losses["contrastive" if cfg.loss == "cosface" else cfg.loss](pair_distance(ea, eb, model.distance), y)


@torch.no_grad()
def _validate(model: SiameseModel, data: _Data, cfg: TrainConfig, losses) -> dict[str, Any]:
    model.eval()
    dev = model.device
    emb = model.embed_tensors(data.vpool).to(dev)  # each distinct validation item once
    ea, eb = emb[torch.as_tensor(data.vi)], emb[torch.as_tensor(data.vj)]
    y = torch.as_tensor(data.vy, device=dev)
    if cfg.loss == "triplet":
        en = emb[torch.as_tensor(data.vneg)]
        pos = y >= 0.5
        loss = losses["triplet"](ea[pos], eb[pos], en[pos])
    else:
        loss = _loss_for_pairs(model, ea, eb, y, cfg, losses)
    dist = model.decision_distance(ea, eb).cpu().numpy()
    if not (np.all(np.isfinite(dist)) and np.isfinite(float(loss))):
        raise FloatingPointError("the model's outputs on the validation split became infinite or NaN; the run was "
                                 "stopped. Try a lower learning rate")
    out = {"val_loss": float(loss), "val_auc": ev.roc_auc(dist, data.vy), "distances": dist}
    if data.v_graded:
        out["val_spearman"] = ev.spearman(-dist, data.vy)
    return out


def fit(
    model: SiameseModel,
    train: Samples | PairSet,
    val: Samples | PairSet,
    config: TrainConfig | None = None,
    callbacks: Sequence[Callback] = (),
    cancel: threading.Event | None = None,
) -> TrainResult:
    """Train ``model`` in place; returns it with the best weights, a threshold chosen on ``val``,
    the per-epoch history and the run record. ``config.frozen_blocks`` stay fixed during the run only."""
    cfg = config or TrainConfig()
    cfg.validate()
    frozen = freeze_early(model.encoder, cfg.frozen_blocks)
    try:
        return _fit(model, train, val, cfg, callbacks, cancel)
    finally:
        for p in frozen:
            p.requires_grad_(True)


def _fit(model, train, val, cfg: TrainConfig, callbacks, cancel) -> TrainResult:
    if cfg.loss == "bce" and model.head is None:
        raise ValueError("binary cross-entropy needs a model built with head=True")
    started = time.perf_counter()
    run_rng = RunRandom(cfg.seed)  # augmentation, dropout and mining draw from this run's own state
    device = dist_.resolve_device(cfg.device)
    distributed = dist_.setup(device)
    model.to(device)
    amp = device.startswith("cuda")  # bf16 autocast on GPU: no loss scaling needed
    encoder = model.encoder
    if distributed:
        from torch.nn.parallel import DistributedDataParallel

        encoder = DistributedDataParallel(model.encoder, device_ids=[torch.device(device).index] if amp else None)
    margin = cfg.resolved_margin(model.distance)
    losses = {"contrastive": ContrastiveLoss(margin), "triplet": TripletLoss(margin, model.distance),
              "bce": PairBCELoss(), "cosent": CoSENTLoss()}
    data = _Data(model, train, val, cfg)
    opt = make_optimizer(model, cfg)
    if cfg.loss == "cosface":  # a learned direction per training class, trained at ten times the rate
        if data.sampler is None:
            raise DataError("cosface loss needs class labels (class folders or a 'label' column)")
        with seeded(cfg.seed + 3):
            losses["cosface"] = CosFaceLoss(int(data.labels.max()) + 1, model.encoder.embedding_dim,
                                            margin=margin).to(device)
        opt.add_param_group({"params": list(losses["cosface"].parameters()), "lr": cfg.lr * 10,
                             "weight_decay": cfg.weight_decay})
    peak_lrs = [g["lr"] for g in opt.param_groups]  # what a warm-up climbs to
    sched = torch.optim.lr_scheduler.ReduceLROnPlateau(
        opt, mode="min", factor=cfg.lr_factor, patience=cfg.lr_patience, min_lr=cfg.min_lr)
    rng = np.random.default_rng(cfg.seed + dist_.rank())

    def emit(kind: str, epoch: int, step: int, payload: dict[str, Any] | None = None):
        ev_ = TrainEvent(kind, epoch, step, dict(payload or {}))
        for cb in callbacks:
            cb(ev_)

    emit("start", 0, 0, {"steps_per_epoch": data.steps(), "epochs": cfg.epochs, "time_budget_s": cfg.time_budget_s})
    t_val = time.perf_counter()
    first = _validate(model, data, cfg, losses)
    val_s = time.perf_counter() - t_val  # what a validation costs: the run keeps time for its closing one
    history: list[dict[str, Any]] = [{"epoch": 0, "train_loss": None, "val_loss": first["val_loss"],
                                      "val_auc": first["val_auc"], "lr": cfg.lr, "time_s": 0.0,
                                      **({"val_spearman": first["val_spearman"]} if "val_spearman" in first else {})}]
    emit("epoch", 0, 0, history[0])
    if cfg.monitor == "val_spearman" and "val_spearman" not in first:
        raise ValueError("monitor='val_spearman' needs graded validation pairs")

    def quality(res: dict[str, Any]) -> float:
        """Higher is better, whatever is monitored."""
        return -res["val_loss"] if cfg.monitor == "val_loss" else res[cfg.monitor]

    best_quality, best_epoch = quality(first), 0
    best_state = copy.deepcopy(model.state_dict())
    best_res = first  # the validation of the kept weights (eval mode is deterministic: no need to redo it)
    bad_evals, step, stopped, n_evals = 0, 0, "completed", 0
    smoothed = quality(first)
    # several validations per epoch on small data, so that early stopping and the best weights do not hang
    # on a handful of noisy points; patience counts validations
    spe = data.steps()
    evals = cfg.evals_per_epoch or min(4, spe)
    eval_at = {max(1, round(spe * (k + 1) / evals)) for k in range(evals)}
    total, count = 0.0, 0

    def train_step(items, labels) -> float | None:
        nonlocal step
        # dropout and mining draw from the run's state: the forward pass and the loss hold the global generator,
        # the backward pass and the update (which draw nothing) let other visitors' requests have it meanwhile
        with run_rng.active():
            batch = {k: v.to(device, non_blocking=True) for k, v in model.preprocessor.collate(items).items()}
            labels = labels.to(device)
            with torch.autocast("cuda", dtype=torch.bfloat16, enabled=amp):
                emb = model.encode(batch, encoder)
                if data.pairs_mode:
                    half = emb.shape[0] // 2
                    loss = _loss_for_pairs(model, emb[:half], emb[half:], labels, cfg, losses)
                else:
                    loss = _loss_for_labels(model, emb, labels, cfg, losses, margin)
        if loss is None:
            if not distributed:
                return None
            loss = emb.sum() * 0.0  # every process must run backward for DDP's all-reduce
        if not torch.isfinite(loss):
            raise FloatingPointError(f"the loss became {float(loss.detach())} at epoch {epoch}, step {step}; "
                                     "the run was stopped. Try a lower learning rate")
        opt.zero_grad(set_to_none=True)
        loss.backward()
        if distributed and model.head is not None:
            dist_.average_gradients(model.head.parameters(), device)
        if distributed and "cosface" in losses:
            dist_.average_gradients(losses["cosface"].parameters(), device)
        if cfg.grad_clip:
            torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
        if step < cfg.warmup_steps:  # linear warm-up: step k of n runs at (k + 1) / n of the rate
            for group, peak in zip(opt.param_groups, peak_lrs):
                group["lr"] = peak * (step + 1) / cfg.warmup_steps
        opt.step()
        step += 1
        value = float(loss.detach())
        emit("step", epoch, step, {"loss": value, "lr": opt.param_groups[0]["lr"], "batch": len(items)})
        return value

    def evaluate(position: float) -> bool:
        """Validate, record, keep the best weights; True when early stopping ends the run. ``position``:
        where in training, in epochs (whole numbers at the end of an epoch)."""
        nonlocal total, count, best_quality, best_epoch, best_state, best_res, bad_evals, smoothed, n_evals
        position = round(position, 3)
        position = int(position) if float(position).is_integer() else position
        res = dist_.from_main(_validate(model, data, cfg, losses))
        model.train()
        n_evals += 1
        lr_before = opt.param_groups[0]["lr"]
        sched.step(res["val_loss"])
        lr_after = opt.param_groups[0]["lr"]
        row = {"epoch": round(position, 3), "train_loss": total / max(count, 1) if count else None,
               "val_loss": res["val_loss"], "val_auc": res["val_auc"], "lr": lr_before,
               "time_s": time.perf_counter() - started}
        if "val_spearman" in res:
            row["val_spearman"] = res["val_spearman"]
        total, count = 0.0, 0
        history.append(row)
        emit("epoch", epoch, step, row)
        if lr_after < lr_before:
            emit("lr_drop", epoch, step, {"old_lr": lr_before, "new_lr": lr_after})
        smoothed = cfg.monitor_smoothing * smoothed + (1 - cfg.monitor_smoothing) * quality(res)
        if smoothed > best_quality + 1e-6:
            best_quality, best_epoch, bad_evals = smoothed, row["epoch"], 0
            best_state, best_res = copy.deepcopy(model.state_dict()), res
        else:
            bad_evals += 1
        waited = (cfg.time_budget_s is None
                  or time.perf_counter() - started >= cfg.min_budget_share * cfg.time_budget_s)
        if (cfg.early_stopping_patience and bad_evals >= cfg.early_stopping_patience and waited
                and n_evals >= cfg.min_evals):
            emit("early_stop", epoch, step, {"best_epoch": best_epoch})
            return True
        return False

    for epoch in range(1, cfg.epochs + 1):
        model.train()
        done, since_eval = False, 0
        for k, (items, labels) in enumerate(run_rng.iterate(data.batches(rng)), start=1):
            cancelled = cancel is not None and cancel.is_set()
            stop = cancelled or (cfg.time_budget_s is not None
                                 and time.perf_counter() - started + val_s > cfg.time_budget_s)
            if distributed:  # all processes stop at the same step
                stop = dist_.any_flag(stop, device)
            if stop:
                stopped = "cancelled" if cancelled else "time_budget"
                if since_eval:  # the steps since the last validation still count
                    evaluate(epoch - 1 + (k - 1) / spe)
                emit(stopped, epoch, step)
                done = True
                break
            value = train_step(items, labels)
            if value is not None:
                total, count = total + value, count + 1
            since_eval += 1
            if k in eval_at:
                since_eval = 0
                if evaluate(epoch - 1 + k / spe):
                    stopped, done = "early_stop", True
                    break
        if done:
            break

    model.load_state_dict(best_state)
    final = best_res
    _set_threshold(model, final["distances"], data.vy, cfg)
    record = {
        "config": cfg.to_dict(), "seed": cfg.seed,
        "margin": margin if cfg.loss in ("contrastive", "triplet", "cosface") else None,
        "data": {"train": train.summary(), "validation": val.summary()},
        "history": history, "best_epoch": best_epoch, "stopped": stopped, "steps": step,
        "final_validation": {"loss": final["val_loss"], "auc": final["val_auc"],
                             **({"spearman": final["val_spearman"]} if "val_spearman" in final else {})},
        "threshold": {"value": model.threshold, "policy": cfg.threshold_policy},
        "train_time_s": time.perf_counter() - started,
        "environment": {"torch": torch.__version__, "python": platform.python_version(),
                        "device": device, "threads": torch.get_num_threads(), "world_size": dist_.world_size(),
                        "mixed_precision": "bf16" if amp else None},
    }
    model.info["training"] = record
    emit("end", history[-1]["epoch"], step, {"stopped": stopped, "best_epoch": best_epoch,
                                             "threshold": model.threshold, "val_auc": final["val_auc"]})
    validation = {"labels": np.asarray(data.vy, dtype=np.float32), "first": np.asarray(first["distances"]),
                  "best": np.asarray(best_res["distances"])}
    return TrainResult(model, history, record, best_epoch, stopped, validation)


def _set_threshold(model: SiameseModel, distances: np.ndarray, labels: np.ndarray, cfg: TrainConfig) -> None:
    """Choose and store the decision threshold, the calibration and validation distance samples. A threshold
    fitted to the earlier weights for several references (``info["references"]``) no longer holds: dropped (the
    several-references comparison then uses the new pair threshold, and says so)."""
    thr = ev.choose_threshold(distances, labels, cfg.threshold_policy, cfg.target_far)
    model.threshold = thr
    model.info.pop("references", None)
    y = labels >= 0.5
    rng = np.random.default_rng(0)
    keep = lambda a: sorted(round_distances(rng.choice(a, size=min(len(a), 300), replace=False)))  # noqa: E731
    model.info.update({
        "threshold_policy": cfg.threshold_policy,
        "threshold_data": f"validation split ({len(labels)} pairs)",
        "calibration": ev.calibrate(distances, labels),
        "validation_distances": {"positive": keep(distances[y]), "negative": keep(distances[~y])},
        "validation_metrics": ev.pair_report(distances, labels, thr),
    })
