"""Cache coherence only: drop cached lookups when their rows change.

These are signals (not service calls) on purpose: the admin, the shell and
data migrations change tenants and domains too, and a stale host → tenant
entry would route requests to the wrong schema. No business logic lives here.
"""

from django.db.models.signals import post_delete, post_save, pre_save
from django.dispatch import receiver

from . import cache
from .models import Domain, Membership, Tenant


@receiver(pre_save, sender=Tenant)
def _tenant_remember_slug(sender, instance: Tenant, **kwargs):
    if instance.pk and not instance._state.adding:
        old = Tenant.objects.filter(pk=instance.pk).values_list("slug", flat=True).first()
        if old and old != instance.slug:
            cache.forget(cache.ref_key(old))


@receiver([post_save, post_delete], sender=Tenant)
def _tenant_changed(sender, instance: Tenant, **kwargs):
    cache.forget_tenant(instance)


@receiver(pre_save, sender=Domain)
def _domain_renamed(sender, instance: Domain, **kwargs):
    if instance.pk:
        old = Domain.objects.filter(pk=instance.pk).values_list("domain", "tenant_id").first()
        if old and old[0] != instance.domain:
            cache.forget_host(old[0], old[1])
        if old and old[1] != instance.tenant_id:
            cache.forget_host(old[0], old[1])


@receiver([post_save, post_delete], sender=Domain)
def _domain_changed(sender, instance: Domain, **kwargs):
    cache.forget_host(instance.domain, instance.tenant_id)


@receiver([post_save, post_delete], sender=Membership)
def _membership_changed(sender, instance: Membership, **kwargs):
    cache.forget_role(instance.tenant_id, instance.user_id)
