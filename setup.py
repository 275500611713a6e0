"""The build maps the repository's top-level templates/, static/ and locale/ into the wheel as `kubeplay_assets/`,
where the settings find them in an installed copy (a checkout uses them where they are). Everything else about
the package is declared in pyproject.toml."""

import os

from setuptools import setup
from setuptools.command.build_py import build_py

ASSETS = ("templates", "static", "locale")


class BuildPyWithAssets(build_py):
    def run(self):
        super().run()
        if getattr(self, "editable_mode", False):
            return  # an editable install reads them from the checkout
        here = os.path.dirname(os.path.abspath(__file__))
        for name in ASSETS:
            self.copy_tree(os.path.join(here, name), os.path.join(self.build_lib, "kubeplay_assets", name))


setup(cmdclass={"build_py": BuildPyWithAssets})
