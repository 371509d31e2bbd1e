pgt() { for p in $(pgrep -f postgres); do awk '{print $14+$15+$16+$17}' /proc/$p/stat 2>/dev/null; done | paste -sd+ | bc; }
