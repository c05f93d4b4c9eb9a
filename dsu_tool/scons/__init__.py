"""scons"""
