"""Keep the database's reference tables in step with the catalog and the administrative map."""

from __future__ import annotations

from bot.catalog import ProductCatalog
from bot.places import Gazetteer
from storage.uow import UnitOfWork


async def sync_reference(uow: UnitOfWork, catalog: ProductCatalog, places: Gazetteer) -> None:
    """Upsert products, provinces and wards (idempotent; runs at every start-up)."""
    await uow.reference.sync_products(
        [
            {
                "code": p.code,
                "name_vi": p.name_vi,
                "name_en": p.name_en,
                "perishable_days": p.perishable_days,
                "price_min": p.price_min,
                "price_max": p.price_max,
                "synonyms": list(p.synonyms),
            }
            for p in catalog
        ]
    )
    await uow.reference.sync_places(
        [{"code": code, "name": p.name} for code, p in places.provinces.items()],
        [
            {"code": code, "province_code": int(w.province_code), "name": w.name}
            for code, w in places.wards.items()
        ],
    )
