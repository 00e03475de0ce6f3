"""The simulated Eraser that AKS Image Cleaner runs: the controller that acts on the ImageList and on its
schedule (controller.py), and the log lines its worker containers write (logs.py)."""
