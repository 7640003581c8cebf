"""The data's life after it is written: backups and restores (`hablo backup` / `hablo
restore`), and the retention jobs that delete what is past its time (old audit and log
rows, a tenant's old messages and their media files, uploads no message refers to)."""
