"""Scripted scenario runs: the Tempe 2018 crash as a classification-flicker and tracking simulation."""
