from celery import shared_task

from .services.dormancy import dormancy_run


@shared_task(name="billing.dormancy_run")
def dormancy_run_task() -> dict:
    """Daily (beat ``billing-dormancy``): R-DOR-1..7."""
    return dormancy_run()
