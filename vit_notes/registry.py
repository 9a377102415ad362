"""Model families by name: ``create("pvt_tiny")`` and the factories ``pvt_tiny()``, from one
dict of configurations per family."""
from __future__ import annotations

from . import validate


def family(model_cls, configs: dict, doc_suffix=lambda name: ""):
    """``create(name, **overrides)`` and one factory per name for a model family.

    ``create`` rejects unknown names with the list of known ones; each factory is named
    after its variant and documents its configuration.
    """
    def create(name: str, **kwargs):
        validate.one_of("name", name, configs)
        return model_cls(**{**configs[name], **kwargs})

    create.__doc__ = (f"Build a {model_cls.__name__} variant by name ({', '.join(configs)}); "
                      "kwargs override its configuration.")

    def factory(name: str):
        def build(**kwargs):
            return create(name, **kwargs)
        build.__name__ = build.__qualname__ = name
        build.__doc__ = f"{name}: {configs[name]}{doc_suffix(name)}"
        return build

    return create, {name: factory(name) for name in configs}


def is_meta(model) -> bool:
    """Whether ``model`` was built on the ``meta`` device (shapes only, as the family tables
    build it): such a model needs no weight initialisation, which would cost most of its build."""
    return next(model.parameters()).is_meta
