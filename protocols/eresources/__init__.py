"""E-resource holdings (KBART), coverage and embargoes, licence terms, copyright tallies.

Pure: text in, typed objects out. The gateway stores what these parse and asks them whether a
member may supply a copy.
"""
