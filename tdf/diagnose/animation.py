"""How long the diagnosis's animations are: frames per animation (evenly spaced over the
sequence) and their rate, shared by the decoded, relevance and pyramid views. Rendering time
and the report's size grow with the frame count and the pixels; 20 frames at 8 fps keep a
sequence ~2.5 s, and multi-panel animations are drawn at GIF_DPI (the quick start's report:
25.6 MB at 40 frames and 100 dpi as GIF, 4.x MB at these settings embedded as WebP)."""

GIF_FRAMES = 20
GIF_FPS = 8
GIF_DPI = 80
