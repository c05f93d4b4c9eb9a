"""patchgen"""
