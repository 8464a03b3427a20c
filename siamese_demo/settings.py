"""The fine-tuning settings, in one table: the fine-tune form, the CLI flags of ``train``, the saved
config and the README's settings table are all derived from it.

Each setting names the :class:`~siamese_demo.train.TrainConfig` field it sets (``augment.<field>`` for
:class:`~siamese_demo.augment.AugmentConfig`); its default *is* that field's default, except for the
settings marked ``auto``, whose value :func:`siamese_demo.finetune.default_config` resolves from the
data and the base ("auto" in a choice, 0 in a number). Some settings are not training fields: the
distance and the image input preparation of a model built from scratch (:data:`PLAN_SETTINGS`), and how the
data is split. Allowed ranges live in
:data:`siamese_demo.limits.RANGES`.
"""
from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

from .augment import AugmentConfig
from .distances import DISTANCES
from .errors import DataError
from .evaluate import POLICIES
from .limits import RANGES, check_choice, check_number
from .losses import LOSSES
from .pairs import MINING
from .finetune import AUTO_BATCH, AUTO_FROZEN_EFFICIENTNET, AUTO_LR, MIN_CLASSES_FOR_CLASS_SPLIT, SPLIT_MODES
from .inspect_data import PLAN_CHOICES
from .train import OPTIMIZERS, TrainConfig

AUTO = "auto"
ON_OFF = ("on", "off")  # a switch that also has "auto": sets a bool field
FROZEN = tuple(str(k) for k in range(7))  # a count that also has "auto": sets an int field


@dataclass(frozen=True)
class Setting:
    name: str                     # the form's and the API's name; the CLI flag is --name with dashes
    field: str | None             # TrainConfig field, "augment.<field>", or None (not a training field)
    label: str                    # what the form and the CLI help call it
    kind: type                    # str (a choice), int, float or bool
    choices: tuple = ()
    auto: bool = False            # default resolved from the data and the base
    default: Any = None           # only for settings that are not training fields

    def form_default(self) -> Any:
        """The value the form shows and the API takes when the setting is left alone."""
        if self.auto:
            return AUTO if self.kind is str else 0
        if self.field is None:
            return self.default
        if self.field.startswith("augment."):
            return getattr(AugmentConfig(), self.field.split(".", 1)[1])
        return getattr(TrainConfig(), self.field)

    @property
    def flag(self) -> str:
        return "--" + self.name.replace("_", "-")

    def field_value(self, value: Any) -> Any:
        """A checked, set (not auto) value as its field takes it: on/off a bool, a count's choice an int."""
        if self.choices[1:] == ON_OFF:
            return value == "on"
        if self.choices[1:] == FROZEN:
            return int(value)
        return self.kind(value)


def _rate(x: float) -> str:
    """A learning rate as people write it: 1e-4, 3e-4."""
    return f"{x:.0e}".replace("e-0", "e-")


SETTINGS: tuple[Setting, ...] = (
    Setting("loss", "loss", "Loss (auto: triplet for class labels, contrastive for pairs, 0/1 or graded; bce for a "
            "base with a pair head; cosent ranks graded pairs; cosface classifies class-labelled data)", str,
            (AUTO, *LOSSES), auto=True),
    Setting("distance", None, "Distance (from-scratch models; a base model keeps its own)", str, DISTANCES,
            default="euclidean"),
    Setting("margin", "margin", "Margin (0 = the loss's default; 'Check the data' suggests one)", float, auto=True),
    Setting("mining", "mining", "Triplet mining (auto: the base's own, else semihard)", str, (AUTO, *MINING),
            auto=True),
    Setting("batch_size", "batch_size", f"Batch size (0 = by the base: {AUTO_BATCH['sentence-transformers']} a "
            f"pretrained sentence-transformers model, else {AUTO_BATCH['other']})", int, auto=True),
    Setting("epochs", "epochs", "Epochs (at most: the time budget usually ends the run first)", int),
    Setting("optimizer", "optimizer", "Optimizer", str, OPTIMIZERS),
    Setting("lr", "lr", f"Learning rate (0 = by the base: {_rate(AUTO_LR['sentence-transformers'])} a pretrained "
            f"transformer, {_rate(AUTO_LR['trained'])} another trained base, {_rate(AUTO_LR['scratch'])} from "
            "scratch)", float, auto=True),
    Setting("weight_decay", "weight_decay", "Weight decay (L2)", float),
    Setting("frozen_blocks", "frozen_blocks", "Frozen early blocks of the base (auto: the stem and first "
            f"{AUTO_FROZEN_EFFICIENTNET} blocks of a trained EfficientNet, none otherwise; 0 = train every layer)",
            str, (AUTO, *FROZEN), auto=True),
    Setting("lr_patience", "lr_patience", "ReduceLROnPlateau patience (validations)", int),
    Setting("patience", "early_stopping_patience", "Early-stopping patience (validations; 0 = off)", int),
    Setting("augment", "augment.enabled", "Augment (auto: off for a pretrained sentence-transformers base, on "
            "otherwise)", str, (AUTO, *ON_OFF), auto=True),
    Setting("rotation", "augment.rotation", "Images: rotation (deg)", float),
    Setting("crop_scale", "augment.crop_scale", "Images: random crop (smallest area)", float),
    Setting("color_jitter", "augment.color_jitter", "Images: colour jitter", float),
    Setting("jitter", "augment.jitter", "Series: jitter", float),
    Setting("scaling", "augment.scaling", "Series: scaling", float),
    Setting("warp", "augment.warp", "Series: time warp", float),
    Setting("word_dropout", "augment.word_dropout", "Text: word dropout", float),
    Setting("threshold_policy", "threshold_policy", "Threshold policy (chosen on validation)", str, POLICIES),
    Setting("target_far", "target_far", "Target false-accept rate (target_far policy)", float),
    Setting("split_mode", None, f"Split (auto: by class with {MIN_CLASSES_FOR_CLASS_SPLIT} or more classes, else by "
            "sample)", str, SPLIT_MODES, default="auto"),
    Setting("seed", "seed", "Seed", int),
    Setting("time_budget_s", "time_budget_s", "Time budget (s)", float),
    # how images become a from-scratch model's input: "auto" takes the choice fitted to the upload
    # (siamese_demo.inspect_data.image_input_plan, shown by 'Check the data'); a pretrained base keeps its own
    Setting("image_kind", None, "Images from scratch: kind (ink: crop to the strokes, invert; photo: as they are)",
            str, PLAN_CHOICES["image_kind"], auto=True),
    Setting("image_channels", None, "Images from scratch: grey or colour", str, PLAN_CHOICES["image_channels"],
            auto=True),
    Setting("image_fit", None, "Images from scratch: fit (pad keeps the aspect ratio)", str,
            PLAN_CHOICES["image_fit"], auto=True),
    Setting("image_size", None, "Images from scratch: input size in px (0 = fitted to the images)", int, auto=True),
    Setting("refit", None, "Refit: when the run beats its base on validation, train again on training + validation "
            "for the length it chose (in the second half of the budget)", bool, default=False),
)
PLAN_SETTINGS = ("image_kind", "image_channels", "image_fit", "image_size")
BY_NAME = {s.name: s for s in SETTINGS}
NAMES = [s.name for s in SETTINGS]


def check_plan(values: dict[str, Any]) -> dict[str, Any]:
    """The image input preparation settings checked on their own (for 'Check the data')."""
    return {n: _checked(BY_NAME[n], values[n]) for n in PLAN_SETTINGS}


def plan_overrides(values: dict[str, Any]) -> dict[str, Any]:
    """The image input preparation settings of checked ``values`` (for ``workflows.scratch_model``)."""
    return {n: values[n] for n in PLAN_SETTINGS}


def defaults() -> dict[str, Any]:
    """Every setting at its default, as the form sends it."""
    return {s.name: s.form_default() for s in SETTINGS}


def check(values: dict[str, Any]) -> dict[str, Any]:
    """Every setting checked: choices against their options, numbers against ``limits.RANGES``."""
    missing = [n for n in NAMES if n not in values]
    if missing:
        raise DataError(f"missing settings: {', '.join(missing)}")
    return {**values, **{s.name: _checked(s, values[s.name]) for s in SETTINGS}}


def _checked(s: Setting, value: Any) -> Any:
    """One setting's value checked: a choice against its options, a number against ``limits.RANGES``."""
    if s.kind is str:
        return check_choice(value, s.name, s.choices)
    if s.kind is bool:
        return bool(value)
    return check_number(value, s.name) if s.name in RANGES else value


def train_config(base, data, values: dict[str, Any]) -> TrainConfig:
    """The run's TrainConfig from checked settings: the set ones as given, the ``auto`` ones resolved
    by :func:`siamese_demo.finetune.default_config` from the data and the base."""
    from .finetune import default_config

    aug: dict[str, Any] = {}
    over: dict[str, Any] = {"device": "auto"}
    for s in SETTINGS:
        if s.field is None:
            continue
        v = values[s.name]
        if s.auto and (v == AUTO or v == 0):
            continue
        v = s.field_value(v)
        if s.field.startswith("augment."):
            aug[s.field.split(".", 1)[1]] = v
        else:
            over[s.field] = v
    over["augment"] = aug  # the set augmentation fields; default_config adds the auto ones
    return default_config(base, data, **over)


def config_fields() -> set[str]:
    """The TrainConfig / AugmentConfig fields the settings set ("augment.<field>" for the latter)."""
    return ({f.name for f in fields(TrainConfig)} - {"augment"}) | {f"augment.{f.name}" for f in fields(AugmentConfig)}


def markdown_table() -> str:
    """The README's fine-tuning settings table (checked equal to the README by a test)."""
    rows = ["| setting (form / API) | CLI flag | TrainConfig field | default |", "|---|---|---|---|"]
    for s in SETTINGS:
        d = s.form_default()
        shown = "auto (from the data and the base)" if s.auto else f"`{d}`"
        rows.append(f"| `{s.name}` | `{s.flag}` | `{s.field or '-'}` | {shown} |")
    return "\n".join(rows)
