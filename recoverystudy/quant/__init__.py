"""Questionnaire scoring: instrument definitions kept as data, survey files, scores and reliability.

Knows nothing of transcripts, the project store or reports.
"""
