"""Top-level Blocks: one tab per modality plus "About the models". Per-visitor state lives in
components and gr.State only; models are shared read-only and loaded lazily (warmed up in the
background after start)."""
from __future__ import annotations

import gradio as gr

from siamese_demo.jobs import DownloadLinks, JobRunner, Priority, VisitorStore
from siamese_demo.limits import limits
from siamese_demo.warmup import exercise_plots, import_lazy_modules

from . import about_tab, common, finetune_tab, image_tab, series_tab, text_tab

INTRO = """# Siamese networks: are these two the same?

A Siamese network encodes both inputs with **one shared encoder** and measures the distance between
the two embeddings: close means *same*, far means *different*. Conventions used everywhere here:
distance lower = more similar; p(same) is the model's chance that a pair is the same, fitted to the distances
of its validation pairs; a pair is called **same** when its distance is at most the model's threshold (chosen
on validation data, movable below: your threshold is yours alone).
"""


CSS = """
/* phones: the five tabs fit in one row */
@media (max-width: 560px) { .tab-container button { padding-left: 8px !important; padding-right: 8px !important; } }
/* tables of numbers: never break a number or a header mid-word; scroll sideways instead */
.prose table, .md table { display: block; overflow-x: auto; max-width: 100%; }
.prose td, .prose th, .md td, .md th, .prose td code, .md td code { white-space: nowrap; word-break: keep-all; }
/* phones: Plotly's toolbar (zoom, download) would cover the plot's label and title; the plot stays readable */
@media (max-width: 560px) { .modebar-container { display: none !important; } }
"""


class SiameseBlocks(gr.Blocks):
    """Blocks that also serve ``/siamese_download/<token>``: a visitor's model zip, through a
    one-time link that expires (see ``siamese_demo.jobs.DownloadLinks``); nothing else."""

    links: DownloadLinks

    def launch(self, *args, app_kwargs=None, **kwargs):
        from fastapi.responses import FileResponse, PlainTextResponse
        from fastapi.routing import APIRoute

        links = self.links

        def download(token: str):
            path = links.redeem(token)
            if path is None:
                return PlainTextResponse("This download link has expired or was already used: press "
                                         "'New download link' on the Fine-tune tab.", status_code=404)
            return FileResponse(path, filename=path.name, media_type="application/zip",
                                headers={"Cache-Control": "no-store"})

        kwargs.setdefault("css", CSS)
        app_kwargs = dict(app_kwargs or {})
        route = APIRoute(finetune_tab.DOWNLOAD_ROUTE + "{token}", download, methods=["GET"], include_in_schema=False)
        app_kwargs["routes"] = list(app_kwargs.get("routes") or []) + [route]
        return super().launch(*args, app_kwargs=app_kwargs, **kwargs)


def build_demo(warm: bool = True) -> SiameseBlocks:
    # Import what plotting, metrics and training import lazily, here, once, before any worker thread
    # runs: two threads importing them at once can deadlock on Python's module locks.
    import_lazy_modules()
    exercise_plots()
    shipped = {m: common.choices(m) for m in ("image", "text", "timeseries")}
    # created per app, not per module: one training worker, one store of visitors' models and files
    lim = limits()
    runner = JobRunner(keep_finished_s=lim.visitor_ttl_s)
    store = VisitorStore(ttl_s=lim.visitor_ttl_s)
    links = DownloadLinks(ttl_s=lim.download_ttl_s)
    priority = Priority()  # decisions before explanations (see siamese_demo.jobs.Priority)
    # Gradio's own upload cache: checked every download_ttl_s, files older than visitor_ttl_s deleted
    with SiameseBlocks(title="Siamese networks demo",
                       delete_cache=(lim.download_ttl_s, lim.visitor_ttl_s)) as demo:
        demo.links = links
        gr.Markdown(INTRO)
        # short tab names: all five fit in one row at phone width (400 px)
        with gr.Tab("Images"):
            dd_image = image_tab.build(shipped["image"], store, priority)
        with gr.Tab("Texts"):
            dd_text = text_tab.build(shipped["text"], store, priority)
        with gr.Tab("Series"):
            dd_series = series_tab.build(shipped["timeseries"], store, priority)
        with gr.Tab("Fine-tune"):
            finetune_tab.build(runner, store, links, {"image": dd_image, "text": dd_text, "timeseries": dd_series})
        with gr.Tab("About") as about:
            own_md, refresh = about_tab.build(store)
        about.select(refresh, None, own_md, api_visibility="private")

        def leave(request: gr.Request):
            """A visitor closed the page: cancel their runs, delete their models and files."""
            owner = getattr(request, "session_hash", None)
            if owner:
                runner.drop_owner(owner)
                links.drop_owner(owner)
                store.drop(owner)

        demo.unload(leave)
    # two events at a time: one per core of a basic CPU Space; more visitors wait in the queue
    demo.queue(default_concurrency_limit=2)
    if warm:
        common.warm_up([n for names in shipped.values() for n in names if not n.startswith("hub:")])
    return demo
