"""Scripted scenario runs: the Tempe 2018 crash as a flicker-and-tracking simulation."""
