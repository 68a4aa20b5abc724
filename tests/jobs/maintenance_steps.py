"""A maintenance step only the tests declare (settings_test lists this module): it
stands in for the uploads app's orphaned-file clean-up, a step run in every tenant's schema."""

from common.maintenance import maintenance_step, rows_delete
from realtime.models import Room


@maintenance_step("orphaned_rooms", per_tenant=True)
def orphaned_rooms_remove(*, now, tenant) -> int:
    return rows_delete(Room.objects.filter(name="orphan"))
