"""Transformations of the ticket analysis job, as small DataFrame -> DataFrame functions."""
