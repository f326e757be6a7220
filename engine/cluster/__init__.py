"""(front door written below)"""
