# Run by every kernel the book build starts (PYTHONSTARTUP, set by vit_notes_site), in the
# kernel's namespace before the first cell: installs book/_ext/build_guard.py and leaves
# no name behind. See that module for the rule.


def _vit_notes_build_guard():
    import importlib.util
    import os
    import sys

    here = os.path.dirname(os.path.abspath(os.environ["PYTHONSTARTUP"]))
    spec = importlib.util.spec_from_file_location(
        "vit_notes_build_guard", os.path.join(here, "build_guard.py")
    )
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    module.install()
    module.started()


_vit_notes_build_guard()
del _vit_notes_build_guard
