from celery import shared_task

from . import privacy


@shared_task(name="legal.data_export_build")
def data_export_build_task(export_id: int) -> bool:
    return privacy.data_export_build(export_id=export_id) is not None


@shared_task(name="legal.data_exports_purge")
def data_exports_purge_task() -> int:
    return privacy.data_exports_purge()


@shared_task(name="legal.terms_announce")
def terms_announce_task(document_id: int) -> int:
    from .services import terms_announce

    return terms_announce(document_id=document_id)
