"""Erasure: the visitors a site was asked to forget, and forgetting them everywhere."""
