"""Recipes (named, unfitted estimators) and the calibration they share."""

from oncoclass.models.calibration import TemperatureCalibrated
from oncoclass.models.recipes import CLASSIC, RECIPES, Recipe, build, get_recipe

__all__ = ["CLASSIC", "RECIPES", "Recipe", "TemperatureCalibrated", "build", "get_recipe"]
