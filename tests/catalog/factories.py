"""Factories for the catalog's models; other apps' tests may use them."""

from decimal import Decimal

import factory

from catalog import crypto
from catalog.links import LinkRule
from catalog.models import Category, CustomRate, Provider, ProviderService, Service

PROVIDER_KEY = "provider-secret-key-0123456789"


class CategoryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Category
        django_get_or_create = ("name",)

    name = factory.Sequence(lambda n: f"Instagram Followers {n}")
    platform = Category.Platform.INSTAGRAM


class ServiceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Service

    category = factory.SubFactory(CategoryFactory)
    name = factory.Sequence(lambda n: f"Followers [Real] {n}")
    description = "Real-looking profiles."
    type = Service.Type.DEFAULT
    rate = Decimal("1.20000")
    min_quantity = 50
    max_quantity = 10000
    link_rule = LinkRule.INSTAGRAM


class ProviderFactory(factory.django.DjangoModelFactory):
    """A provider whose key (``PROVIDER_KEY`` unless given) is stored encrypted."""

    class Meta:
        model = Provider
        django_get_or_create = ("name",)

    class Params:
        api_key = PROVIDER_KEY

    name = factory.Sequence(lambda n: f"Provider {n}")
    api_url = "http://127.0.0.1:9/api/v2"
    balance_alert_threshold = Decimal("50.00")
    api_key_encrypted = factory.LazyAttribute(lambda o: crypto.encrypt(o.api_key))


class ProviderServiceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ProviderService

    service = factory.SubFactory(ServiceFactory)
    provider = factory.SubFactory(ProviderFactory)
    remote_service_id = factory.Sequence(lambda n: str(500 + n))
    provider_rate = Decimal("1.00000")
    markup_percent = Decimal("20")
    priority = 1


class CustomRateFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CustomRate

    user = factory.SubFactory("tests.factories.UserFactory")
    service = None
    rate = None
    discount_percent = Decimal("10")
