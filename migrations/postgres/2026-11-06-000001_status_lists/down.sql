DROP TABLE status_list_slots;
DROP TABLE status_list_blocks;
