"""Layer 2, the container: bytes in and out of a `.zanj` zip archive.

It knows nothing of objects, handlers or plugins; it depends only on the contract layer.
Its modules, from the bottom up (each imports only modules of the rows above it):

1. `spec` (member names, format version, alignment), `limits` (`ReadLimits`), `checksums`
   (the CRC-32), `progress` (optional progress bars), `locations` (what a path, URL or file
   object names), `save_steps` (save errors naming the failed step), `zip_records` (the
   zip directory parsed in bulk into member records).
2. `sources`: `ByteSource`, with local files and file objects; `zipwriter`: the streaming
   zip writer.
3. `remote`: fsspec URLs, read by range and saved by one upload (fsspec is imported only for
   a URL); `end_records` (finding the directory) and `local_headers` (checking members'
   local headers), then `directory`: the strict zip directory; `writer`: a whole archive
   from what the save walk collected.
4. `opening`: the byte source for a location; `publishing`: a saved file appears atomically;
   `member_streams` then `member_source`: reading members.
5. `reader`: `ArchiveReader`, an open file.
"""
