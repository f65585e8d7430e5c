"""Cross-site statistics: comparisons, post-hoc tests, effect sizes, correlations, multilevel models and
the country contrast. Knows nothing of the project store; shared machinery sits below the tests using it.
"""
